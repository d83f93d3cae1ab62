import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseUsersArguments, UsageError } from '../../src/cli/users-arguments.js';

function refusal(args: readonly string[]): string {
  try {
    parseUsersArguments(args);
  } catch (error) {
    assert.ok(error instanceof UsageError, String(error));
    return error.message;
  }
  assert.fail(`${JSON.stringify(args)} was accepted`);
}

describe('parseUsersArguments', () => {
  it('takes option values inline or as the next argument, the last one winning', () => {
    assert.deepEqual(parseUsersArguments(['add', '--role=admin', 'alice', '--file', 'a.csv', '--file=b=c']), {
      command: 'add',
      name: 'alice',
      role: 'admin',
      file: 'b=c',
    });
    assert.deepEqual(parseUsersArguments(['list']), {
      command: 'list',
      name: undefined,
      role: undefined,
      file: undefined,
    });
  });

  it('treats everything after -- as names', () => {
    assert.equal(parseUsersArguments(['remove', '--', '--file']).name, '--file');
    assert.match(refusal(['remove', '--', 'alice', '-h']), /^remove needs exactly one user name;/);
  });

  it('answers help for -h or --help anywhere, after checking every option', () => {
    assert.equal(parseUsersArguments(['frobnicate', 'x', 'y', '-h']).command, 'help');
    assert.equal(parseUsersArguments(['--help', '--file=x']).file, 'x');
    assert.equal(
      refusal(['-h', '--verbose']),
      'unknown option "--verbose"; run `npm run users -- help` for usage',
    );
  });

  it('names the whole argument of an unknown option, including short groups', () => {
    for (const arg of ['-hx', '-hh', '-h=1', '--verbose=1', '-x', '---x']) {
      assert.equal(
        refusal(['list', arg]),
        `unknown option ${JSON.stringify(arg)}; run \`npm run users -- help\` for usage`,
      );
    }
  });

  it('refuses an option without a value, and takes a dash-led next argument as the value', () => {
    assert.match(refusal(['add', 'alice', '--role']), /^option --role needs a value;/);
    assert.match(refusal(['list', '--file=']), /^option --file needs a value;/);
    assert.match(refusal(['add', 'alice', '--role', '--file']), /^invalid role "--file"/);
  });

  it('refuses a missing or unknown command, the wrong number of names and a misplaced role', () => {
    assert.match(refusal([]), /^missing command;/);
    assert.match(refusal(['frobnicate']), /^unknown command "frobnicate";/);
    assert.match(refusal(['add']), /^add needs exactly one user name;/);
    assert.match(refusal(['list', 'alice']), /^list takes no arguments;/);
    assert.match(refusal(['remove', 'alice', '--role', 'admin']), /^--role is only for add;/);
    assert.equal(refusal(['add', 'a b']), 'invalid user name "a b": use 1 to 64 of A-Z a-z 0-9 _ - .');
  });
});
