import { Controller, Post } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import type { z } from 'zod';
import { CurrentPrincipal, Public, RequirePermission } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { ValidBody } from '../http/validation';
import { ApiDoc } from '../openapi/api-doc';
import { RATE_LIMIT_AUTH } from '../rate-limit/rate-limit.hook';
import {
  agentRegisterBody,
  agentRegisterResponse,
  createRegistrationTokenBody,
  registrationTokenResponse,
} from './nodes.schemas';
import { RegistrationService } from './registration.service';

@Controller('v1')
export class RegistrationController {
  constructor(private readonly registration: RegistrationService) {}

  @Post('nodes/register-token')
  @RequirePermission('nodes.manage')
  @ApiDoc({
    summary: 'Create a registration token for `hostplane-agent register` (expiry, use count, labels)',
    tags: ['nodes'],
    responses: {
      201: {
        description: 'The token, shown once, and the command to run on the host',
        schema: registrationTokenResponse,
      },
    },
  })
  create(
    @CurrentPrincipal() p: Principal,
    @ValidBody(createRegistrationTokenBody) body: z.infer<typeof createRegistrationTokenBody>,
  ) {
    return this.registration.createToken(p, body);
  }

  @Post('agents/register')
  @Public()
  @RouteConfig(RATE_LIMIT_AUTH)
  @ApiDoc({
    summary: 'Agent registration: exchange an hp_reg_ token for a node and its agent token',
    tags: ['agents'],
    public: true,
    errors: ['registration_refused'],
    responses: { 201: { description: 'The node id and its agent token, shown once', schema: agentRegisterResponse } },
  })
  register(@ValidBody(agentRegisterBody) body: z.infer<typeof agentRegisterBody>) {
    return this.registration.register(body);
  }
}
