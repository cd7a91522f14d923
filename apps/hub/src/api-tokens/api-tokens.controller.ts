import { Controller, Delete, Get, HttpCode, Post } from '@nestjs/common';
import { Authenticated, CurrentPrincipal } from '../access/access.decorators';
import type { Principal } from '../access/principal';
import { Audit, AuditNote, Audited } from '../audit/audit-note';
import { Page, paginationQuery, Pagination } from '../http/pagination';
import { ValidBody, ValidParams, ValidQuery } from '../http/validation';
import { ApiDoc } from '../openapi/api-doc';
import {
  apiTokenPage,
  ApiTokenParams,
  apiTokenParams,
  ApiTokenView,
  CreateApiTokenBody,
  createApiTokenBody,
  createdApiTokenView,
  CreatedApiTokenView,
} from './api-tokens.schemas';
import { ApiTokensService } from './api-tokens.service';

@Controller('v1/api-tokens')
export class ApiTokensController {
  constructor(private readonly tokens: ApiTokensService) {}

  @Get()
  @Authenticated()
  @ApiDoc({
    summary: 'Your API tokens (never their values)',
    tags: ['api-tokens'],
    responses: { 200: { description: 'A page of tokens', schema: apiTokenPage } },
  })
  list(@CurrentPrincipal() p: Principal, @ValidQuery(paginationQuery) page: Pagination): Promise<Page<ApiTokenView>> {
    return this.tokens.list(p, page);
  }

  @Post()
  @Authenticated({ org: true, sessionOnly: true })
  @Audited('api_token.create', { target: 'api_token' })
  @ApiDoc({
    summary: 'Create an API token for the organization in X-Org-Id; the value is shown once',
    description:
      'Use it as `Authorization: Bearer hp_pat_…` or `X-Api-Key: hp_pat_…`. It acts for you, in that organization, within its scopes.',
    tags: ['api-tokens'],
    errors: ['scope_not_held'],
    responses: { 201: { description: 'Created', schema: createdApiTokenView } },
  })
  async create(
    @CurrentPrincipal() p: Principal,
    @ValidBody(createApiTokenBody) body: CreateApiTokenBody,
    @Audit() note: AuditNote,
  ): Promise<CreatedApiTokenView> {
    const created = await this.tokens.create(p, { name: body.name, expiresIn: body.expires_in, scopes: body.scopes });
    note.targetId = created.id;
    note.details = { name: created.name, scopes: created.scopes, expires_at: created.expires_at };
    return created;
  }

  @Delete(':id')
  @HttpCode(204)
  @Authenticated()
  @Audited('api_token.revoke', { target: 'api_token', param: 'id' })
  @ApiDoc({
    summary: 'Revoke one of your API tokens',
    tags: ['api-tokens'],
    responses: { 204: { description: 'Revoked' } },
  })
  async revoke(@CurrentPrincipal() p: Principal, @ValidParams(apiTokenParams) params: ApiTokenParams): Promise<void> {
    await this.tokens.revoke(p, params.id);
  }
}
