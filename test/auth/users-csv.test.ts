import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatUsersCsv, parseUsersCsv, USERS_CSV_HEADER } from '../../src/auth/users-csv.js';
import { hash, row, user } from './user-fixtures.js';

describe('parseUsersCsv', () => {
  it('reads quoted and bare hashes, CRLF endings, empty lines and a trailing newline', () => {
    const text = [
      USERS_CSV_HEADER,
      row(user('alice', { role: 'admin' })),
      '',
      `bob,${hash},user,2025-01-02T03:04:05Z,true`,
      '',
    ].join('\r\n');
    const parsed = parseUsersCsv(text);
    assert.ok('users' in parsed, JSON.stringify(parsed));
    assert.deepEqual(
      parsed.users.map((u) => [u.username, u.role, u.disabled, u.passwordHash === hash]),
      [
        ['alice', 'admin', false, true],
        ['bob', 'user', true, true],
      ],
    );
  });

  it('round-trips what formatUsersCsv writes', () => {
    const users = [user('a'), user('b.c-d_e', { role: 'admin', disabled: true })];
    const parsed = parseUsersCsv(formatUsersCsv(users));
    assert.deepEqual(parsed, { users });
  });

  it('accepts a header-only file as no users', () => {
    assert.deepEqual(parseUsersCsv(`${USERS_CSV_HEADER}\n`), { users: [] });
  });

  it('refuses a malformed CSV listing each bad line number', () => {
    const text = [
      USERS_CSV_HEADER,
      row(user('good')),
      row(user('a b')),
      row(user('carol', { role: 'root' as 'user' })),
      `dave,"${hash}",user,2025-01-02T03:04:05Z,maybe`,
      'erin,user,2025-01-02T03:04:05Z',
      'frank,plaintext-password,user,2025-01-02T03:04:05Z,false',
      row(user('GOOD')),
      `gina,"${hash}",user,yesterday,false`,
      `hank,"${hash},user,2025-01-02T03:04:05Z,false`,
    ].join('\n');
    const parsed = parseUsersCsv(text);
    assert.ok('errors' in parsed);
    assert.deepEqual(
      parsed.errors.map((e) => /^users\.csv line (\d+): /.exec(e)?.[1]),
      ['3', '4', '5', '6', '7', '8', '9', '10'],
    );
    assert.match(parsed.errors[0]!, /^users\.csv line 3: invalid username "a b"/);
    assert.match(parsed.errors[1]!, /invalid role "root"/);
    assert.match(parsed.errors[2]!, /invalid disabled "maybe"/);
    assert.match(parsed.errors[3]!, /expected 5 columns/);
    assert.match(parsed.errors[4]!, /invalid password hash/);
    assert.match(parsed.errors[5]!, /duplicate username "GOOD" \(line 2 has "good"\)/);
    assert.match(parsed.errors[6]!, /invalid created_at "yesterday"/);
    assert.match(parsed.errors[7]!, /malformed quoting/);
    assert.ok(!parsed.errors.join('\n').includes(hash), 'errors never echo a hash');
  });

  it('refuses a missing or wrong header and an empty file, naming line 1', () => {
    const wrong = parseUsersCsv(`user,hash,role\n${row(user('alice'))}\n`, 'people.csv');
    assert.deepEqual(wrong, {
      errors: [`people.csv line 1: expected the header "${USERS_CSV_HEADER}"`],
    });
    const headless = parseUsersCsv(`${row(user('alice'))}\n`);
    assert.ok('errors' in headless && headless.errors.length === 1);
    const empty = parseUsersCsv('');
    assert.ok('errors' in empty && /line 1: empty file/.test(empty.errors[0]!));
  });
});
