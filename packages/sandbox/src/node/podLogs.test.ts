import { criLogText } from './podLogs';

describe('criLogText', () => {
  it('drops time and stream, joins partial lines, keeps empty lines', () => {
    const raw = [
      '2026-12-07T12:00:00.000000001Z stdout P hel',
      '2026-12-07T12:00:00.000000002Z stdout F lo',
      '2026-12-07T12:00:00.000000003Z stderr F ',
      '2026-12-07T12:00:00.000000004Z stdout F done',
      '',
    ].join('\n');
    expect(criLogText(raw)).toBe('hello\n\ndone\n');
  });
});
