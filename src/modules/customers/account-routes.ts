import { z } from '@hono/zod-openapi';
import { requireCustomer } from '../../auth/require-customer';
import type { CustomerEnv } from '../../lib/app-env';
import { guardedRoute, idempotencyKeyHeaders, jsonBody, jsonContent, problems } from '../../lib/openapi';
import { MAX_PAGE_SIZE, PageInfoSchema, PaginationQuery } from '../../lib/pagination';
import { queryInteger } from '../../lib/query-integer';
import { acceptIdempotencyKey } from '../../middleware/idempotency';
import { SessionListSchema, SessionParams } from '../sessions/schemas';
import {
  AddressInputSchema,
  AddressParams,
  AddressSchema,
  AddressUpdateSchema,
  CustomerSchema,
  CustomerUpdateSchema,
  ErasureSchema,
  MAX_ADDRESSES,
} from './schemas';

const tags = ['Store: account'];

/** A route for the signed-in customer: the token check runs first, and the document says so. */
const customerRoute = <const R extends Parameters<typeof guardedRoute>[2]>(route: R) =>
  guardedRoute(requireCustomer(), 'customerToken', route);

/** A write of the signed-in customer that takes an Idempotency-Key; keys are per customer. */
const idempotentCustomerRoute = <const R extends Parameters<typeof guardedRoute>[2]>(route: R) =>
  guardedRoute(
    requireCustomer(),
    'customerToken',
    route,
    acceptIdempotencyKey<CustomerEnv>({ scope: (c) => `customer:${c.var.principal.id}` }),
  );
const OptionalIdempotencyKey = idempotencyKeyHeaders(false);

export const getMe = customerRoute({
  method: 'get',
  path: '/customers/me',
  tags,
  summary: 'The signed-in customer',
  responses: { 200: jsonContent(CustomerSchema, 'The customer'), ...problems(401) },
});

export const updateMe = idempotentCustomerRoute({
  method: 'patch',
  path: '/customers/me',
  tags,
  summary: 'Change name, phone or locale (email and verification cannot be set here)',
  request: { headers: OptionalIdempotencyKey, body: jsonBody(CustomerUpdateSchema) },
  responses: { 200: jsonContent(CustomerSchema, 'Updated'), ...problems(400, 401, 409, 415, 422) },
});

export const exportMe = customerRoute({
  method: 'get',
  path: '/customers/me/export',
  tags,
  summary: 'Everything stored about the customer, as JSON',
  responses: {
    200: jsonContent(
      z
        .object({
          exported_at: z.string(),
          customer: CustomerSchema,
          addresses: z.array(AddressSchema),
          sessions: z.array(
            z.object({
              id: z.string(),
              user_agent: z.string().nullable(),
              created_at: z.string(),
              last_used_at: z.string(),
            }),
          ),
          external_identities: z.array(
            z.object({ issuer: z.string(), subject: z.string(), linked_at: z.string() }),
          ),
        })
        .openapi('CustomerExport'),
      'The export',
    ),
    ...problems(401),
  },
});

export const deleteMe = customerRoute({
  method: 'delete',
  path: '/customers/me',
  tags,
  summary: 'Erase the account’s personal data and sign out everywhere (order records are kept)',
  description:
    'Needs fresh proof of the owner: the current password, or for an account without one, a sign-in (not a refresh) within the last 10 minutes.',
  request: { body: { ...jsonBody(ErasureSchema), required: false } },
  responses: { 204: { description: 'Erased' }, ...problems(400, 401, 415, 422, 429) },
});

export const listMySessions = customerRoute({
  method: 'get',
  path: '/customers/me/sessions',
  tags,
  summary: 'Active sessions (signed-in devices)',
  responses: {
    200: jsonContent(SessionListSchema, 'Sessions'),
    ...problems(401),
  },
});

export const revokeMySession = customerRoute({
  method: 'delete',
  path: '/customers/me/sessions/{id}',
  tags,
  summary: 'Sign out one session',
  request: { params: SessionParams },
  responses: { 204: { description: 'Revoked' }, ...problems(401, 404, 422) },
});

const AddressList = z.object({ data: z.array(AddressSchema), page: PageInfoSchema }).openapi('AddressList');

/** The default page holds as many addresses as an account may save, so a client that sends no limit sees them all. */
const AddressListQuery = z.object({
  ...PaginationQuery,
  limit: queryInteger(1, MAX_PAGE_SIZE)
    .default(MAX_ADDRESSES)
    .openapi({ description: `Page size, 1-${MAX_PAGE_SIZE}`, example: MAX_ADDRESSES }),
});

export const listAddresses = customerRoute({
  method: 'get',
  path: '/customers/me/addresses',
  tags,
  summary: 'Saved addresses, oldest first',
  request: { query: AddressListQuery },
  responses: { 200: jsonContent(AddressList, 'Addresses'), ...problems(401, 422) },
});

export const createAddress = idempotentCustomerRoute({
  method: 'post',
  path: '/customers/me/addresses',
  tags,
  summary: `Save an address (stored encrypted); at most ${MAX_ADDRESSES} per account`,
  request: { headers: OptionalIdempotencyKey, body: jsonBody(AddressInputSchema) },
  responses: { 201: jsonContent(AddressSchema, 'Saved'), ...problems(400, 401, 409, 415, 422) },
});

export const updateAddress = idempotentCustomerRoute({
  method: 'patch',
  path: '/customers/me/addresses/{id}',
  tags,
  summary: 'Change a saved address',
  request: { headers: OptionalIdempotencyKey, params: AddressParams, body: jsonBody(AddressUpdateSchema) },
  responses: { 200: jsonContent(AddressSchema, 'Updated'), ...problems(400, 401, 404, 409, 415, 422) },
});

export const deleteAddress = idempotentCustomerRoute({
  method: 'delete',
  path: '/customers/me/addresses/{id}',
  tags,
  summary: 'Delete a saved address',
  request: { headers: OptionalIdempotencyKey, params: AddressParams },
  responses: { 204: { description: 'Deleted' }, ...problems(400, 401, 404, 409, 422) },
});
