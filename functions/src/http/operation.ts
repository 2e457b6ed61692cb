import type { HttpHandler, HttpMethod, HttpRequest, HttpResponseInit, InvocationContext } from '@azure/functions';
import type { AppServices } from '../app-services.js';
import type { Principal } from '../auth/principal.js';
import { renderProblem } from './render-problem.js';

export interface OperationInput {
  request: HttpRequest;
  context: InvocationContext;
  services: AppServices;
  /** The verified caller (absent only for anonymous operations). */
  principal: Principal;
}

/** One operation of openapi.yaml, served by one Azure Function. */
export interface Operation {
  operationId: string;
  method: HttpMethod;
  /** Azure Functions route template relative to the route prefix ("api"), e.g. `networkpolicies/{name}`. */
  route: string;
  handler: HttpHandler;
  /** Largest request body the operation reads (default DEFAULT_MAX_BODY_BYTES); hosts buffer at most this plus one byte. */
  maxBodyBytes?: number;
}

export type ServicesProvider = () => Promise<AppServices>;

/**
 * Wraps an operation body with the parts every operation shares: service lookup, bearer-token
 * authentication (unless anonymous) and the one error boundary that renders problem+json.
 * Authorization (roles, cluster binding) is the body's first statement, next to what it protects.
 */
export function defineOperation(
  services: ServicesProvider,
  spec: { operationId: string; method: HttpMethod; route: string; anonymous?: boolean; maxBodyBytes?: number },
  body: (input: OperationInput) => Promise<HttpResponseInit>,
): Operation {
  let ready: AppServices | undefined; // resolved once; later invocations skip the await
  const handler: HttpHandler = async (request, context) => {
    try {
      const resolved = ready ?? (ready = await services());
      const principal = spec.anonymous
        ? { subject: 'anonymous', roles: [] }
        : await resolved.verifyToken(request.headers.get('authorization'));
      return await body({ request, context, services: resolved, principal });
    } catch (error) {
      return renderProblem(error, new URL(request.url).pathname, context);
    }
  };
  return { operationId: spec.operationId, method: spec.method, route: spec.route, handler, ...(spec.maxBodyBytes ? { maxBodyBytes: spec.maxBodyBytes } : {}) };
}
