/**
 * Sessions: what the HTTP layer (app, routes, src/http) may use. The lifecycle, in order:
 *
 * 1. `sessionMiddleware` (session.middleware.ts) runs on every /v0 request. It hooks the
 *    Set-Cookie header (session.cookie.ts), loads the session through express-session and
 *    the Redis store (session.store.ts), and binds the request's session state
 *    (session.state.ts). A request without the cookie loads nothing; express-session starts
 *    only if a handler signs someone in.
 * 2. It then applies the lifetime policy (session.policy.ts): past the absolute lifetime the
 *    session is destroyed and the request marked expired; near the end of the sliding TTL the
 *    expiry moves forward, in the store and in the per-user index (session.index.ts).
 * 3. A route's guard (session.guard.ts), `requireSession` or `optionalSession`, decides who
 *    the caller is and loads their user once; `currentAuth` and `signedInUser` read it.
 * 4. `establishSession` and `destroyCurrentSession` (session.lifecycle.ts) sign in on a fresh
 *    session id and sign out across store, index and cookie; `sessionSteps` hands both to a
 *    service that must order them around its own writes (a login and its action log).
 * 5. Revocation from another session or a service (session.revocation.ts) deletes the stored
 *    sessions; the store's update-only writes keep an in-flight request from restoring one.
 */
export { sessionMiddleware } from './session.middleware.ts';
export { currentAuth, optionalSession, requireSession, signedInUser } from './session.guard.ts';
export { destroyCurrentSession, establishSession, sessionSteps } from './session.lifecycle.ts';
export type { AuthContext } from './session.state.ts';
