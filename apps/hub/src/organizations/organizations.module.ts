import { Module } from '@nestjs/common';
import { InvitesController, OrgInvitesController } from './invites.controller';
import { InvitesService } from './invites.service';
import { OrganizationsController, PermissionsController } from './organizations.controller';
import { OrganizationsService } from './organizations.service';

@Module({
  controllers: [OrganizationsController, OrgInvitesController, InvitesController, PermissionsController],
  providers: [OrganizationsService, InvitesService],
  exports: [OrganizationsService, InvitesService],
})
export class OrganizationsModule {}
