import { EventStreamParser } from './EventStreamParser';

describe('EventStreamParser', () => {
  it('returns events completed so far, whatever the chunk boundaries', () => {
    const parser = new EventStreamParser();
    const text = 'event: progress\ndata: {"a":1}\n\n: keep-alive\n\nevent: progress\r\ndata: {"a":2}\r\n\r\nevent: end\ndata: {}\n\n';
    const events = [];
    for (const char of text) events.push(...parser.push(char));
    expect(events).toEqual([
      { event: 'progress', data: '{"a":1}' },
      { event: 'progress', data: '{"a":2}' },
      { event: 'end', data: '{}' },
    ]);
  });

  it('joins multi-line data, defaults the name to message and dispatches a named event without data', () => {
    const parser = new EventStreamParser();
    expect(parser.push('data: one\ndata:two\nid: 7\nretry: 10\n\nevent: end\n\n')).toEqual([
      { event: 'message', data: 'one\ntwo' },
      { event: 'end', data: '' },
    ]);
  });

  it('keeps an unfinished event until its blank line arrives', () => {
    const parser = new EventStreamParser();
    expect(parser.push('event: progress\ndata: {"x"')).toEqual([]);
    expect(parser.push(':1}\n')).toEqual([]);
    expect(parser.push('\n')).toEqual([{ event: 'progress', data: '{"x":1}' }]);
  });
});
