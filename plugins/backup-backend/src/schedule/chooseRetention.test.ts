import { summary } from './__testUtils__/fakes';
import { chooseRetention } from './chooseRetention';

const ids = (list: Array<{ id: string }>) => list.map(b => b.id);

describe('chooseRetention', () => {
  it('keeps the newest keepLast and removes the rest, oldest first', () => {
    const backups = [1, 4, 2, 5, 3].map(minute => summary({ minute }));
    const byMinute = (m: number) => backups[[1, 4, 2, 5, 3].indexOf(m)];
    const { keep, remove } = chooseRetention({ backups, policy: 'nightly', keepLast: 2 });
    expect(ids(keep)).toEqual(ids([byMinute(5), byMinute(4)]));
    expect(ids(remove)).toEqual(ids([byMinute(1), byMinute(2), byMinute(3)]));
  });

  it('neither counts nor removes manual backups, other policies, running or failed backups', () => {
    const manual = summary({ minute: 1, manual: true });
    const other = summary({ minute: 2, policy: 'weekly' });
    const failed = summary({ minute: 3, phase: 'Failed' });
    const old = summary({ minute: 4 });
    const partial = summary({ minute: 5, phase: 'PartiallyFailed' });
    const newest = summary({ minute: 6 });
    const running = summary({ minute: 7, phase: 'Running' });
    const pending = summary({ minute: 8, phase: 'Pending' });
    const { keep, remove } = chooseRetention({
      backups: [manual, other, failed, old, partial, newest, running, pending],
      policy: 'nightly',
      keepLast: 2,
    });
    expect(ids(keep)).toEqual(ids([newest, partial]));
    expect(ids(remove)).toEqual(ids([old]));
  });

  it('never removes the newest Completed backup, even beyond keepLast', () => {
    const completed = summary({ minute: 1 });
    const olderPartial = summary({ minute: 0, phase: 'PartiallyFailed' });
    const partials = [2, 3].map(minute => summary({ minute, phase: 'PartiallyFailed' }));
    const { keep, remove } = chooseRetention({
      backups: [olderPartial, completed, ...partials],
      policy: 'nightly',
      keepLast: 2,
    });
    expect(ids(keep)).toEqual(ids([partials[1], partials[0], completed]));
    expect(ids(remove)).toEqual(ids([olderPartial]));
  });

  it('removes nothing while there are no more than keepLast', () => {
    const backups = [1, 2].map(minute => summary({ minute }));
    expect(chooseRetention({ backups, policy: 'nightly', keepLast: 2 }).remove).toEqual([]);
    expect(chooseRetention({ backups: [], policy: 'nightly', keepLast: 1 })).toEqual({ keep: [], remove: [] });
  });
});
