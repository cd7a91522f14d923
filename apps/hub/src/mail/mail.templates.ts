/**
 * The hub's mail, as plain text: what happened, the single-use token and the API call that uses
 * it (the hub has no web pages of its own), and what to do if it was not you.
 */

export interface MailMessage {
  to: string;
  subject: string;
  text: string;
}

export function passwordResetMail(to: string, hubUrl: string, token: string, ttlMinutes: number): MailMessage {
  return {
    to,
    subject: 'Reset your Hostplane password',
    text: [
      'Someone asked to reset the password of your Hostplane account.',
      '',
      `Your reset token (valid for ${ttlMinutes} minutes, usable once):`,
      `  ${token}`,
      '',
      'Choose a new password with:',
      `  curl -X POST ${hubUrl}/v1/auth/reset-password -H 'content-type: application/json' \\`,
      `    -d '{"token": "${token}", "new_password": "…"}'`,
      '',
      'If you did not ask for this, ignore this mail: your password stays as it is.',
    ].join('\n'),
  };
}

export function inviteMail(
  to: string,
  hubUrl: string,
  orgName: string,
  inviterEmail: string,
  role: string,
  token: string,
  ttlHours: number,
): MailMessage {
  return {
    to,
    subject: `You are invited to ${orgName} on Hostplane`,
    text: [
      `${inviterEmail} invited you to the organization "${orgName}" as ${role}.`,
      '',
      `Your invite token (valid for ${ttlHours} hours, usable once):`,
      `  ${token}`,
      '',
      'Signed in already? Accept it with your access token:',
      `  curl -X POST ${hubUrl}/v1/invites/${token}/accept -H 'authorization: Bearer <access token>'`,
      'No account yet? Register with this address and the invite:',
      `  curl -X POST ${hubUrl}/v1/auth/register -H 'content-type: application/json' \\`,
      `    -d '{"email": "${to}", "password": "…", "invite_token": "${token}"}'`,
      '',
      'If you did not expect this, ignore this mail.',
    ].join('\n'),
  };
}
