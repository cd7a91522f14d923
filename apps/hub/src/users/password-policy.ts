/**
 * Sanity rules for new passwords (NIST 800-63B style): a minimum length, no upper limit a
 * passphrase would hit, and refusal of what breach corpora are full of — common passwords with
 * digits or symbols bolted on, keyboard walks and sequences, very few distinct characters, and
 * the user's own email or name. Pure, so it is tested without a server.
 */

export const PASSWORD_MAX_LENGTH = 256;

const COMMON = new Set(
  `password passwd pass qwerty qwertz azerty letmein welcome admin administrator iloveyou monkey dragon football baseball
  sunshine princess shadow master superman batman trustno starwars whatever freedom hello charlie secret michael jennifer
  jordan hunter ranger buster soccer hockey killer george andrew thomas summer winter spring autumn flower cheese computer
  internet changeme default root toor test tester guest user login mustang access pepper daniel ginger joshua maggie lovely
  cookie chocolate banana orange apple purple samsung google matrix hostplane server linux ubuntu debian oracle postgres
  mysql redis docker secure security private system manager support office business company london paris berlin america
  love lover loveme blessed jesus christ angel angels family friends forever money bitcoin pokemon minecraft fortnite
  naruto liverpool chelsea arsenal barcelona juventus yankees cowboys eagles lakers tigger snoopy mickey garfield
  qwertyuiop asdfghjkl zxcvbnm abcdef abcdefg abcdefgh iloveu temp temporary passpass mypassword newpassword
  yourpassword letmeinnow opensesame`
    .split(/\s+/)
    .filter(Boolean),
);

const WALKS = [
  'abcdefghijklmnopqrstuvwxyz',
  '0123456789',
  'qwertyuiopasdfghjklzxcvbnm',
  'qwertzuiopasdfghjklyxcvbnm',
  'azertyuiopqsdfghjklmwxcvbn',
  '1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p',
  '1q2w3e4r5t6y7u8i9o0p',
  '!@#$%^&*()_+',
];

const LEET: Record<string, string> = {
  '0': 'o',
  '1': 'i',
  '3': 'e',
  '4': 'a',
  '5': 's',
  '7': 't',
  '8': 'b',
  '@': 'a',
  $: 's',
  '!': 'i',
};

export interface PasswordPolicy {
  minLength: number;
  /** Words the password must not contain: the user's email, its local part, their name. */
  personal?: string[];
}

/** The reason a password is refused, phrased for the user, or null when it is acceptable. */
export function passwordProblem(password: string, policy: PasswordPolicy): string | null {
  const length = [...password].length;
  if (length < policy.minLength) return `password must be at least ${policy.minLength} characters long`;
  if (length > PASSWORD_MAX_LENGTH) return `password must be at most ${PASSWORD_MAX_LENGTH} characters long`;
  const lower = password.toLowerCase();
  if (new Set(lower).size < 5) return 'password uses too few different characters';
  if (isRepetition(lower)) return 'password is a short pattern repeated';
  if (isWalk(lower)) return 'password is a keyboard or alphabet sequence';
  const core = commonCore(lower);
  if (core !== null)
    return 'password is a commonly used password with a few characters added; choose something less guessable, such as several unrelated words';
  for (const word of policy.personal ?? []) {
    const w = word.toLowerCase().trim();
    if (w.length >= 4 && lower.includes(w)) return 'password must not contain your email address or name';
  }
  return null;
}

function isRepetition(s: string): boolean {
  for (let n = 1; n <= 4; n++) {
    if (s.length % n === 0 && s.slice(0, n).repeat(s.length / n) === s) return true;
  }
  return false;
}

function isWalk(s: string): boolean {
  const stripped = s.replace(/\s+/g, '');
  return WALKS.some((w) => {
    const cycle = w.repeat(Math.ceil(stripped.length / w.length) + 1);
    const reversed = [...cycle].reverse().join('');
    return cycle.includes(stripped) || reversed.includes(stripped);
  });
}

/** The common word a password is built around, if any: "P@ssw0rd2024!" → "password". */
function commonCore(lower: string): string | null {
  const deleet = (t: string) => [...t].map((c) => LEET[c] ?? c).join('');
  const trimEnds = (t: string) => t.replace(/^[^a-z]+|[^a-z]+$/g, '');
  const candidates = [
    trimEnds(deleet(trimEnds(lower))),
    trimEnds(deleet(lower)),
    lower.replace(/[^a-z]/g, ''),
    deleet(lower).replace(/[^a-z]/g, ''),
  ];
  for (const candidate of candidates) {
    if (!candidate) continue;
    if (COMMON.has(candidate)) return candidate;
    for (const word of COMMON)
      if (word.length >= 4 && candidate.length <= word.length * 3 && isRepeatOf(candidate, word)) return word;
  }
  return null;
}

function isRepeatOf(candidate: string, word: string): boolean {
  return candidate.length % word.length === 0 && word.repeat(candidate.length / word.length) === candidate;
}
