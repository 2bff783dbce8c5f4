import { describe, expect, it } from 'vitest';
import { redactSecrets, redactUrlSetting } from '../../common/redact.js';

describe('redactSecrets', () => {
  it('hides a URL password (npm redactLog), a user name alone (a token) and every query value, keeping the rest', () => {
    expect(redactSecrets('cannot download http://alice:s3cretPW@127.0.0.1:5/nope: 404')).toBe('cannot download http://alice:***@127.0.0.1:5/nope: 404');
    expect(redactSecrets('via https://ghp_0123456789abcdef@github.com/x.zip')).toBe('via https://***@github.com/x.zip');
    expect(redactSecrets('http://h/rel?token=SECRET/app.zip answered 404')).toBe('http://h/rel?token=*** answered 404');
    expect(redactSecrets('https://h/a.zip?X-Amz-Credential=AK&X-Amz-Signature=dead#top')).toBe('https://h/a.zip?X-Amz-Credential=***&X-Amz-Signature=***#top');
  });

  it('redacts URLs inside JSON and after VARIABLE=, and a password holding "@"', () => {
    expect(redactSecrets('{"url":"http://u:pw@h/x","why":"proxy http://bob:PXsecret@127.0.0.1:1 (x)"}')).toBe(
      '{"url":"http://u:***@h/x","why":"proxy http://bob:***@127.0.0.1:1 (x)"}',
    );
    expect(redactSecrets('AO_APP_BASE_URL=ftp://alice:p@ss@h/x is not an http(s) URL')).toBe('AO_APP_BASE_URL=ftp://alice:***@h/x is not an http(s) URL');
  });

  it('leaves text without secrets as it was, paths holding a UUID too (a result line names the install folder)', () => {
    const plain = 'desktop app: 40% 1.2 MB/3.0 MB 1.0 MB/s ETA 2s, from http://127.0.0.1:4000/app.zip';
    expect(redactSecrets(plain)).toBe(plain);
    const path = '{"event":"result","path":"/tmp/0f8fad5b-d9cb-469f-a165-70867728950e/app/versions/0.10.0-linux-x64"}';
    expect(redactSecrets(path)).toBe(path);
  });
});

describe('redactUrlSetting', () => {
  it.each([
    ['https://alice:S3CRET@mirror.example.com/ao/', 'https://alice:***@mirror.example.com/ao/'],
    ['https://TOKEN@mirror.example.com/ao/', 'https://***@mirror.example.com/ao/'],
    ['alice:S3CRET@mirror.example.com/ao/', 'alice:***@mirror.example.com/ao/'],
    ['TOKEN@mirror.example.com/ao/', '***@mirror.example.com/ao/'],
    ['mirror.example.com/ao/?token=S3CRET', 'mirror.example.com/ao/?token=***'],
    // A password holding an unescaped "/", "?" or "#": all before the last "@" is the user and password.
    ['https://alice:ab/c?d#e@mirror.example.com/ao/', 'https://alice:***@mirror.example.com/ao/'],
    ['alice:ab/c@mirror.example.com/ao/', 'alice:***@mirror.example.com/ao/'],
    ['https://mirror.example.com/ao/', 'https://mirror.example.com/ao/'],
  ])('%s is printed as %s', (value, printed) => {
    expect(redactUrlSetting(value)).toBe(printed);
  });
});
