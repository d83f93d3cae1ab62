import { type Role, USERNAME_PATTERN, type UserRecord } from './user-store.js';

/** The header row every users file starts with. */
export const USERS_CSV_HEADER = 'username,password_hash,role,created_at,disabled';
/**
 * The header of a file in which some password was changed: one more column, `password_changed_at`
 * (ISO 8601, or empty for never); tokens issued before it are refused. Written only when needed,
 * so files without password changes keep the original five columns.
 */
export const USERS_CSV_HEADER_WITH_PASSWORD_CHANGE = `${USERS_CSV_HEADER},password_changed_at`;

const ROLES: readonly Role[] = ['admin', 'user'];
// PHC strings: argon2id (what we write) or scrypt (carried over from older deployments).
const ARGON2ID_PHC =
  /^\$argon2id\$(?:v=\d+\$)?m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+={0,2}\$[A-Za-z0-9+/]+={0,2}$/;
const SCRYPT_PHC = /^\$scrypt\$ln=\d+,r=\d+,p=\d+\$[A-Za-z0-9+/.]+={0,2}\$[A-Za-z0-9+/.]+={0,2}$/;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/;

/** The outcome of parsing a users file: every user, or every problem (each naming its line). */
export type ParsedUsers = { users: UserRecord[] } | { errors: string[] };

/**
 * Parses the text of a users file. Accepts CRLF, a UTF-8 BOM, a trailing newline and empty lines.
 * The hash column may be quoted (RFC 4180, as this module writes it) or bare: PHC strings contain
 * commas (`m=19456,t=2,p=1`), but no other column can, so a bare hash is still unambiguous.
 * Reports every problem at once as `<source> line N: ...`, and never echoes a hash.
 */
export function parseUsersCsv(text: string, source = 'users.csv'): ParsedUsers {
  const errors: string[] = [];
  const users: UserRecord[] = [];
  const seen = new Map<string, { name: string; line: number }>();
  const lines = text.replace(/^\uFEFF/, '').split('\n');
  let headerSeen = false;
  let columns = USERS_CSV_HEADER.split(',').length;
  lines.forEach((raw, index) => {
    const lineNumber = index + 1;
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line === '') return;
    const at = `${source} line ${lineNumber}`;
    if (!headerSeen) {
      headerSeen = true;
      if (line === USERS_CSV_HEADER_WITH_PASSWORD_CHANGE) {
        columns += 1;
        return;
      }
      if (line !== USERS_CSV_HEADER) {
        errors.push(`${at}: expected the header "${USERS_CSV_HEADER}"`);
        // Without a header the line may be a user row; check it as one so every problem is listed.
        if (/^[a-z_]+(,[a-z_]+)*$/.test(line)) return;
      } else {
        return;
      }
    }
    const record = parseRow(line, at, errors, columns);
    if (!record) return;
    const key = record.username.toLowerCase();
    const earlier = seen.get(key);
    if (earlier) {
      errors.push(
        `${at}: duplicate username ${show(record.username)} (line ${earlier.line} has ${show(earlier.name)})`,
      );
      return;
    }
    seen.set(key, { name: record.username, line: lineNumber });
    users.push(record);
  });
  if (!headerSeen) errors.push(`${source} line 1: empty file, expected the header "${USERS_CSV_HEADER}"`);
  return errors.length > 0 ? { errors } : { users };
}

function parseRow(line: string, at: string, errors: string[], columns: number): UserRecord | undefined {
  const fields = splitCsvLine(line);
  if (!fields) {
    errors.push(`${at}: malformed quoting`);
    return undefined;
  }
  const header = columns === 5 ? USERS_CSV_HEADER : USERS_CSV_HEADER_WITH_PASSWORD_CHANGE;
  if (fields.length < columns) {
    errors.push(`${at}: expected ${columns} columns (${header}), found ${fields.length}`);
    return undefined;
  }
  const [username, ...rest] = fields as [string, ...string[]];
  const trailing = rest.slice(2 - columns);
  const [role, createdAt, disabled, changedAt = ''] = trailing as [string, string, string, string?];
  const passwordHash = rest.slice(0, 2 - columns).join(',');
  const hashValid = ARGON2ID_PHC.test(passwordHash) || SCRYPT_PHC.test(passwordHash);
  if (fields.length > columns && !hashValid) {
    errors.push(`${at}: expected ${columns} columns (${header}), found ${fields.length}`);
    return undefined;
  }
  const before = errors.length;
  if (!USERNAME_PATTERN.test(username)) {
    errors.push(`${at}: invalid username ${show(username)} (1 to 64 of A-Z a-z 0-9 _ - .)`);
  }
  if (!hashValid) errors.push(`${at}: invalid password hash (expected a $argon2id$ or $scrypt$ PHC string)`);
  if (!isRole(role)) errors.push(`${at}: invalid role ${show(role)} (expected admin or user)`);
  if (!ISO_8601.test(createdAt) || Number.isNaN(Date.parse(createdAt))) {
    errors.push(`${at}: invalid created_at ${show(createdAt)} (expected an ISO 8601 timestamp)`);
  }
  if (disabled !== 'true' && disabled !== 'false') {
    errors.push(`${at}: invalid disabled ${show(disabled)} (expected true or false)`);
  }
  if (changedAt !== '' && (!ISO_8601.test(changedAt) || Number.isNaN(Date.parse(changedAt)))) {
    errors.push(
      `${at}: invalid password_changed_at ${show(changedAt)} (expected an ISO 8601 timestamp or nothing)`,
    );
  }
  if (errors.length > before || !isRole(role)) return undefined;
  const record: UserRecord = { username, passwordHash, role, createdAt, disabled: disabled === 'true' };
  return Object.freeze(changedAt === '' ? record : { ...record, passwordChangedAt: changedAt });
}

function isRole(value: string): value is Role {
  return ROLES.some((role) => role === value);
}

// One line of RFC 4180 CSV (no field spans lines); null when a quote is misplaced or unclosed.
function splitCsvLine(line: string): string[] | null {
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    if (line[i] === '"') {
      let value = '';
      i += 1;
      for (;;) {
        const quote = line.indexOf('"', i);
        if (quote === -1) return null;
        value += line.slice(i, quote);
        if (line[quote + 1] === '"') {
          value += '"';
          i = quote + 2;
        } else {
          i = quote + 1;
          break;
        }
      }
      fields.push(value);
      if (i === line.length) return fields;
      if (line[i] !== ',') return null;
      i += 1;
    } else {
      const comma = line.indexOf(',', i);
      const value = comma === -1 ? line.slice(i) : line.slice(i, comma);
      if (value.includes('"')) return null;
      fields.push(value);
      if (comma === -1) return fields;
      i = comma + 1;
    }
  }
}

function show(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}...` : value);
}

/**
 * The users file text for `users`: header, one row each, `\n` endings; the hash column is quoted.
 * The `password_changed_at` column is written only when some user has one. Does not validate:
 * `writeUsersFileAtomic` parses the text back before writing it.
 */
export function formatUsersCsv(users: readonly UserRecord[]): string {
  const changes = users.some((u) => u.passwordChangedAt !== undefined);
  const rows = users.map((u) => {
    const fields = [u.username, u.passwordHash, u.role, u.createdAt, String(u.disabled)];
    if (changes) fields.push(u.passwordChangedAt ?? '');
    return fields.map(csvField).join(',');
  });
  return [changes ? USERS_CSV_HEADER_WITH_PASSWORD_CHANGE : USERS_CSV_HEADER, ...rows].join('\n') + '\n';
}

function csvField(value: string): string {
  return /[",\r\n]/.test(value) ? `"${value.replaceAll('"', '""')}"` : value;
}
