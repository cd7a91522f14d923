import { z } from 'zod';
import { emailField } from '../http/fields';
import { nameField, passwordField, userView } from '../users/users.schemas';
import { displayName } from '../http/fields';

export const ACCESS_TOKEN_TTL_SECONDS = 900;
export const MFA_CHALLENGE_TTL_SECONDS = 300;

export const tokenPair = z.object({
  access_token: z.string().describe('JWT, 15 minutes'),
  refresh_token: z.string().describe('Opaque, single use: POST /v1/auth/refresh returns a new one'),
  expires_in: z.literal(ACCESS_TOKEN_TTL_SECONDS),
  token_type: z.literal('Bearer'),
});
export type TokenPair = z.infer<typeof tokenPair>;

export const mfaRequired = z.object({
  mfa_required: z.literal(true),
  challenge_token: z.string().describe('Send it with a TOTP or recovery code to POST /v1/auth/mfa/challenge'),
  expires_in: z.literal(MFA_CHALLENGE_TTL_SECONDS),
});
export type MfaRequired = z.infer<typeof mfaRequired>;

export const loginResponse = z.union([tokenPair, mfaRequired]);
export type LoginResponse = z.infer<typeof loginResponse>;

export const loginBody = z.object({ email: emailField, password: passwordField }).strict();
export type LoginBody = z.infer<typeof loginBody>;

const organizationRef = z.object({ id: z.uuid(), name: z.string() });

export const accountCreated = tokenPair.extend({ user: userView, organization: organizationRef });
export type AccountCreated = z.infer<typeof accountCreated>;

export const registerBody = z
  .object({
    email: emailField,
    password: passwordField,
    name: nameField.default(''),
    invite_token: z
      .string()
      .max(200)
      .optional()
      .describe('From an invite mail; required when registration is invite-only'),
  })
  .strict();
export type RegisterBody = z.infer<typeof registerBody>;

export const bootstrapBody = z
  .object({
    email: emailField,
    password: passwordField,
    name: nameField.default(''),
    organization_name: displayName(100).default('Default organization'),
    setup_token: z.string().max(500).optional().describe('Required when the hub sets HOSTPLANE_BOOTSTRAP_TOKEN'),
  })
  .strict();
export type BootstrapBody = z.infer<typeof bootstrapBody>;

export const bootstrapStatus = z.object({ needed: z.boolean() });

export const refreshBody = z.object({ refresh_token: z.string().min(1).max(500) }).strict();
export type RefreshBody = z.infer<typeof refreshBody>;

export const forgotPasswordBody = z.object({ email: emailField }).strict();
export type ForgotPasswordBody = z.infer<typeof forgotPasswordBody>;
export const forgotPasswordResponse = z.object({ message: z.string() });

export const resetPasswordBody = z.object({ token: z.string().min(1).max(500), new_password: passwordField }).strict();
export type ResetPasswordBody = z.infer<typeof resetPasswordBody>;

const code = z.string().trim().min(6).max(32).describe('6-digit TOTP code, or a recovery code');

export const mfaStatus = z.object({
  enabled: z.boolean(),
  enrolling: z.boolean(),
  recovery_codes_remaining: z.number().int(),
});
export const mfaEnrollment = z.object({ secret: z.string(), otpauth_uri: z.string() });
export const mfaCodeBody = z.object({ code }).strict();
export type MfaCodeBody = z.infer<typeof mfaCodeBody>;
export const mfaEnabled = z.object({
  enabled: z.literal(true),
  recovery_codes: z.array(z.string()).describe('Shown only this once; each works once'),
});
export const mfaChallengeBody = z.object({ challenge_token: z.string().min(1).max(4000), code }).strict();
export type MfaChallengeBody = z.infer<typeof mfaChallengeBody>;

export const githubCallbackQuery = z.object({
  code: z.string().max(500).optional(),
  state: z.string().max(500).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(1000).optional(),
});
export type GithubCallbackQuery = z.infer<typeof githubCallbackQuery>;
