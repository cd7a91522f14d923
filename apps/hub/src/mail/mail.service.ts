import { Inject, Injectable, OnApplicationShutdown } from '@nestjs/common';
import { createTransport, Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import { HUB_CONFIG } from '../config/config.module';
import type { HubConfig, SmtpConfig } from '../config/load-config';
import { HUB_LOGGER } from '../http/logger';
import type { MailMessage } from './mail.templates';

/**
 * Sends the hub's mail through the configured SMTP server (implicit TLS, STARTTLS or plain, with
 * optional AUTH). Without `HOSTPLANE_SMTP_HOST` nothing is sent and `enabled` is false. Message
 * bodies hold single-use secrets, so they are never logged; only the recipient and subject are.
 */
@Injectable()
export class MailService implements OnApplicationShutdown {
  private readonly transport?: Transporter;
  private readonly from?: string;

  constructor(
    @Inject(HUB_CONFIG) config: HubConfig,
    @Inject(HUB_LOGGER) private readonly log: Logger,
  ) {
    if (config.smtp) {
      this.transport = createTransport(transportOptions(config.smtp));
      this.from = config.smtp.from;
    }
  }

  get enabled(): boolean {
    return this.transport !== undefined;
  }

  /** Resolves when the server accepted the message; rejects with the SMTP error otherwise. */
  async send(message: MailMessage): Promise<void> {
    if (!this.transport) {
      this.log.warn(
        { to: message.to, subject: message.subject },
        'mail not sent: no SMTP server configured (HOSTPLANE_SMTP_HOST)',
      );
      return;
    }
    try {
      await this.transport.sendMail({ from: this.from, to: message.to, subject: message.subject, text: message.text });
      this.log.info({ to: message.to, subject: message.subject }, 'mail sent');
    } catch (err) {
      this.log.error(
        { to: message.to, subject: message.subject, reason: (err as Error).message },
        'mail could not be sent',
      );
      throw err;
    }
  }

  /** For mail whose delivery the caller must not wait for (or reveal): errors are logged only. */
  sendInBackground(message: MailMessage): void {
    this.send(message).catch(() => undefined);
  }

  onApplicationShutdown(): void {
    this.transport?.close();
  }
}

function transportOptions(smtp: SmtpConfig) {
  return {
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    requireTLS: smtp.requireTls,
    ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
    logger: false,
    debug: false,
  };
}
