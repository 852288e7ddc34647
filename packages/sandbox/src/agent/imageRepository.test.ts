import { imageRepository } from './Kubelet';

describe('imageRepository', () => {
  it.each([
    ['ferry.io/datamover:dev', 'ferry.io/datamover'],
    ['ferry.io/datamover', 'ferry.io/datamover'],
    ['localhost:5000/ferry/datamover:1.2', 'localhost:5000/ferry/datamover'],
    ['localhost:5000/ferry/datamover', 'localhost:5000/ferry/datamover'],
    ['ferry.io/datamover@sha256:abcd', 'ferry.io/datamover'],
    ['ferry.io/datamover:dev@sha256:abcd', 'ferry.io/datamover'],
  ])('%p has repository %p', (image, repository) => {
    expect(imageRepository(image)).toBe(repository);
  });
});
