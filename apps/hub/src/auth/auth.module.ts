import { Module } from '@nestjs/common';
import { OrganizationsModule } from '../organizations/organizations.module';
import { UsersModule } from '../users/users.module';
import { AuthThrottle } from './auth-throttle';
import { AuthController } from './auth.controller';
import { BootstrapService } from './bootstrap.service';
import { GithubController } from './github.controller';
import { GithubOAuthService } from './github-oauth.service';
import { LoginService } from './login.service';
import { MfaController } from './mfa.controller';
import { MfaService } from './mfa.service';
import { PasswordResetService } from './password-reset.service';
import { RegistrationService } from './registration.service';
import { SessionsService } from './sessions.service';

@Module({
  imports: [UsersModule, OrganizationsModule],
  controllers: [AuthController, MfaController, GithubController],
  providers: [
    AuthThrottle,
    SessionsService,
    LoginService,
    MfaService,
    BootstrapService,
    RegistrationService,
    PasswordResetService,
    GithubOAuthService,
  ],
})
export class AuthModule {}
