import { adminRoute } from '../../auth/permissions';
import { jsonBody, jsonContent, problems } from '../../lib/openapi';
import {
  CreateInviteBody,
  InviteIdParam,
  InviteListQuery,
  InvitePageSchema,
  InviteSchema,
  StaffDetailSchema,
  StaffIdParam,
  StaffListQuery,
  StaffPageSchema,
  StaffSchema,
  UpdateStaffBody,
} from './schemas';

const tags = ['Admin: staff'];

export const createInvite = adminRoute('staff:manage', {
  method: 'post',
  path: '/staff/invites',
  tags,
  summary: 'Invite a staff member',
  description:
    'Creates a single-use invitation valid for 72 hours; its token is emailed to the invitee and in no response. ' +
    'Inviting the same address again replaces (revokes) the pending invitation, which needs what revoking it ' +
    'needs. Inviting to a role needs every permission of that role (403 `permission_escalation`); only an owner ' +
    'can invite an owner. An invitation whose inviter was disabled or changed role (a staff member) or revoked ' +
    '(a key) while the request ran is not created: 401, as the inviter’s next request would get.',
  request: { body: jsonBody(CreateInviteBody) },
  responses: {
    201: jsonContent(InviteSchema, 'The invitation; its token is emailed to the invitee'),
    ...problems(401, 403, 409, 422),
  },
});

export const listInvites = adminRoute('staff:manage', {
  method: 'get',
  path: '/staff/invites',
  tags,
  summary: 'List staff invitations, newest first',
  request: { query: InviteListQuery },
  responses: {
    200: jsonContent(InvitePageSchema, 'A page of invitations'),
    ...problems(401, 403, 422),
  },
});

export const revokeInvite = adminRoute('staff:manage', {
  method: 'post',
  path: '/staff/invites/{id}/revoke',
  tags,
  summary: 'Revoke a pending invitation',
  description:
    'Needs every permission of the invited role, as revoking a key needs every permission of the key.',
  request: { params: InviteIdParam },
  responses: {
    200: jsonContent(InviteSchema, 'The revoked invitation'),
    ...problems(401, 403, 404, 409),
  },
});

export const listStaff = adminRoute('staff:manage', {
  method: 'get',
  path: '/staff',
  tags,
  summary: 'List staff members, newest first',
  request: { query: StaffListQuery },
  responses: {
    200: jsonContent(StaffPageSchema, 'A page of staff members'),
    ...problems(401, 403, 422),
  },
});

export const getStaff = adminRoute('staff:manage', {
  method: 'get',
  path: '/staff/{id}',
  tags,
  summary: 'Get a staff member, with the secret keys they created',
  request: { params: StaffIdParam },
  responses: {
    200: jsonContent(StaffDetailSchema, 'The staff member'),
    ...problems(401, 403, 404),
  },
});

export const updateStaff = adminRoute('staff:manage', {
  method: 'patch',
  path: '/staff/{id}',
  tags,
  summary: 'Change a staff member’s name, role or status',
  description:
    'Disabling or changing the role signs the member out everywhere and, in the same write, revokes the secret ' +
    'keys they created (directly or through their keys) that hold more than they now hold, and the pending ' +
    'invitations so made that they could no longer make. Changing a member needs every permission ' +
    'of their role, and a new role every permission of that role (403 `permission_escalation`). Only an owner ' +
    'can change an owner or grant the owner role; nobody changes their own role or status. A change racing ' +
    'another is refused whole: 409 `last_owner` when it would leave no active owner (two owners disabling or ' +
    'demoting each other at once), 409 `staff_changed` when the member’s role changed since it was checked, ' +
    '401 when the caller was disabled or changed role (a key: revoked) meanwhile.',
  request: { params: StaffIdParam, body: jsonBody(UpdateStaffBody) },
  responses: {
    200: jsonContent(StaffSchema, 'The staff member'),
    ...problems(401, 403, 404, 409, 422),
  },
});

export const resetStaffMfa = adminRoute('staff:manage', {
  method: 'post',
  path: '/staff/{id}/mfa/reset',
  tags,
  summary: 'Clear a staff member’s MFA (lost authenticator and recovery codes)',
  description:
    'Removes the TOTP secret and recovery codes and signs the member out; an owner or admin must enroll again ' +
    'at the next login. Only an owner can reset an owner; nobody resets their own. 409 `staff_changed` when ' +
    'the member’s role changed since it was checked, 401 when the caller was disabled or changed role (a key: ' +
    'revoked) meanwhile.',
  request: { params: StaffIdParam },
  responses: {
    200: jsonContent(StaffSchema, 'The staff member'),
    ...problems(401, 403, 404, 409),
  },
});
