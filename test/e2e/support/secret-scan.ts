import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** A secret to look for, and a name for it that may be printed (the value never is). */
export interface Secret {
  name: string;
  value: string;
}

export interface SecretHit {
  file: string;
  line: number;
  secret: string;
}

/** The forms a secret can take on a log line: as is, URL-encoded, and inside an HTTP Basic credential. */
export function secretForms(secret: Secret, user?: string): Secret[] {
  const forms: Secret[] = [secret];
  const encoded = encodeURIComponent(secret.value);
  if (encoded !== secret.value) forms.push({ name: `${secret.name} (URL-encoded)`, value: encoded });
  forms.push({ name: `${secret.name} (base64)`, value: Buffer.from(secret.value).toString('base64') });
  if (user !== undefined) {
    forms.push({
      name: `${secret.name} (Basic credential)`,
      value: Buffer.from(`${user}:${secret.value}`).toString('base64'),
    });
  }
  return forms;
}

/** Every regular file under `directory`, recursively. */
export function filesUnder(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    const stat = statSync(path);
    if (stat.isDirectory()) return filesUnder(path);
    return stat.isFile() ? [path] : [];
  });
}

/** Where any of `secrets` occurs in the files under `directory`: file, line and the secret's name. */
export function scanForSecrets(directory: string, secrets: Secret[]): SecretHit[] {
  const hits: SecretHit[] = [];
  for (const file of filesUnder(directory)) {
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((text, index) => {
      for (const secret of secrets) {
        if (secret.value.length > 0 && text.includes(secret.value)) {
          hits.push({ file: relative(directory, file), line: index + 1, secret: secret.name });
        }
      }
    });
  }
  return hits;
}
