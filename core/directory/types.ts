/**
 * Shared shapes of the directory module: the request/reply contract with the edge and the
 * description of a resource type that the generic collection logic is driven by.
 */
import type { Json, Mutation, StateReader } from '../kv.js';
import type { Result } from '../result.js';
import type { ParsedProof } from './key-proof.js';
import type { TargetIndex } from '../feed/target-index.js';

export type JsonObject = { [key: string]: Json };

export interface GraphRequest {
  method: string;
  /** Canonical part after /v1.0 (classify.ts), e.g. "/users", "/users/{id}", "/groups/{id}/members/$ref". */
  path: string;
  /** The route classify.ts resolved, and its parameters: the replica dispatches on these. */
  routeId: string;
  params: Readonly<Record<string, string>>;
  query: Record<string, string>;
  body: unknown;
  ifMatch?: string;
  /** The client sent `ConsistencyLevel: eventual`: advanced queries ($search, /$count, ...) are allowed. */
  eventual?: boolean;
  /** e.g. "http://127.0.0.1:8787/v1.0", used for @odata.context and @odata.nextLink. */
  baseUrl: string;
  /** The client's `Prefer` header (evolvable enums: `include-unknown-enum-members`). */
  prefer?: string;
  /** Classified as a POST that starts a background job: the cell wakes its alarm after the commit. */
  startsJob?: boolean;
  /** A secret the edge generated for a route that mints one (addPassword): only its hash and hint travel. */
  minted?: MintedSecret;
  /** The body's `keyCredentials` certificates as the edge parsed them (key-credentials.ts), entry by entry. */
  certificates?: Array<ParsedCertificate | null>;
  /** addKey / removeKey's proof of possession as the edge decoded and hashed it (key-proof.ts). */
  proof?: ParsedProof;
  /**
   * Set when an application without Graph permissions calls addKey/removeKey: its appId. The
   * write is allowed only on that application itself (Graph: an app rolls its own keys).
   */
  onlyOwnApp?: string;
}

/** An X.509 certificate's public RSA key and SHA-1 / SHA-256 thumbprints. */
export interface ParsedCertificate {
  jwk: { kty: 'RSA'; n: string; e: string };
  x5t: string;
  x5tS256: string;
  /** SHA-1 thumbprint in hex, Graph's `customKeyIdentifier`. */
  thumbprint: string;
  /** The certificate's validity period (epoch ms). */
  notBefore: number;
  notAfter: number;
}

/**
 * A client secret generated at the edge (secrets.ts): the replica stores `hash`, and the reply
 * carries `sealed` (the clear text sealed under the write's idempotency ticket) for the edge to
 * open, so a retry answered from the idempotency record shows the secret that was stored.
 */
export interface MintedSecret {
  hash: string;
  hint: string;
  sealed: string;
}

export interface GraphContext {
  tenantId: string;
  /** Epoch milliseconds; injected so the logic stays deterministic. */
  now: number;
  newId(): string;
  /** Who asks (a subscription's `creatorId`); absent where no caller applies. */
  caller?: { kind: 'user'; userId: string } | { kind: 'application'; appId: string } | { kind: 'operator' };
  /**
   * Reads only: objects kept outside the cell (R2) by name, fetched and decrypted by the glue
   * (undefined until fetched: the glue fetches what a read asked for and runs it again).
   */
  objects?: { get(key: string): Json | undefined };
  /** Reads only: the replica's own index of feed records by target (audit queries); absent, they scan. */
  targets?: TargetIndex;
}

export type GraphError = {
  kind: 'bad_request' | 'not_found' | 'conflict' | 'precondition_failed' | 'method_not_allowed' | 'forbidden' | 'unauthorized' | 'gone' | 'behind';
  message: string;
  code?: string;
};

export interface GraphReply {
  status: number;
  body?: Json;
  headers?: Record<string, string>;
  /** MintedSecret.sealed of the write: the edge opens it into the body's `secretText`. */
  sealedSecret?: string;
}

export interface WritePlan {
  mutations: Mutation[];
  reply: GraphReply;
}

/** How a property may be filtered / compared. 'complex' covers arrays and objects. */
export type PropKind = 'string' | 'boolean' | 'complex';

export type TypeName =
  | 'user'
  | 'group'
  | 'application'
  | 'servicePrincipal'
  | 'conditionalAccessPolicy'
  | 'namedLocation';

/** Everything the generic collection code needs to know about one resource type. */
export interface ResourceSpec {
  readonly type: TypeName;
  /** Collection path as it appears in URLs and @odata.context, e.g. "users". */
  readonly collection: string;
  /** e.g. "microsoft.graph.user" (without '#'). */
  readonly odataType: string;
  /** Name used in Graph error messages, e.g. "User". */
  readonly entityName: string;
  /** Every property a client may see or $select (never includes hidden ones). */
  readonly properties: Readonly<Record<string, PropKind>>;
  /** Properties usable in $filter, with their comparison kind. */
  readonly filterable: Readonly<Record<string, 'string' | 'boolean'>>;
  /** Properties with a tenant-wide case-insensitive unique index. */
  readonly unique: readonly string[];
  /** Non-unique properties with a filter index (property-index.ts); unique ones use their unique index. */
  readonly indexed: readonly string[];
  /** Stored but never returned (e.g. passwordProfile). */
  readonly hidden: readonly string[];
  /** Validates a POST body and returns the object to store (without id/_v). */
  create(body: unknown, ctx: GraphContext, state: StateReader): Result<JsonObject, GraphError>;
  /** Validates a PATCH body against the current object and returns the changed properties. */
  patch(body: unknown, current: JsonObject, ctx: GraphContext): Result<JsonObject, GraphError>;
}
