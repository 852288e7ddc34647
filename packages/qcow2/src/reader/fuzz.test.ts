import {
  fuzzCorpus,
  fuzzRound,
  FuzzSeed,
  readMutant,
} from '../testing/fuzzing';
import { requireQemu } from '../testing/qemu';
import { makeTempDir, removeDir } from '../testing/tempDir';

jest.setTimeout(120_000);

const MUTATIONS_PER_SEED = 700;

describe('reader fuzzing with mutated images (seeded)', () => {
  let corpus: FuzzSeed[];
  let dir: string;
  beforeAll(async () => {
    requireQemu();
    dir = await makeTempDir('fuzz');
    corpus = await fuzzCorpus(dir);
  });
  afterAll(() => removeDir(dir));

  it('unmutated seeds read cleanly', async () => {
    for (const seed of corpus) {
      const { sources } = await readMutant(seed.bytes, seed.backing);
      expect(sources.length).toBe(seed.backing ? 2 : 1);
    }
  });

  it(`${MUTATIONS_PER_SEED} mutations per seed give data or a typed error, never a crash, a hang or a huge read`, async () => {
    const { accepted, refused, unexpected } = await fuzzRound({
      corpus,
      seed: 1000,
      mutations: MUTATIONS_PER_SEED,
    });
    expect(unexpected).toEqual([]);
    // The mutations must actually exercise both paths.
    expect(refused).toBeGreaterThan(100);
    expect(accepted).toBeGreaterThan(100);
  });
});
