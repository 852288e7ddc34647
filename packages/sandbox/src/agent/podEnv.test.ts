import { expandReferences } from './podEnv';

describe('expandReferences', () => {
  it('expands known $(VAR), keeps unknown ones and unescapes $$', () => {
    const env = { A: 'one', B: 'two' };
    expect(expandReferences('$(A)-$(B)-$(C)-$$(A)', env)).toBe('one-two-$(C)-$(A)');
  });
});
