import 'express-serve-static-core';
import type { AuthContext } from '../modules/auth/session/session.port.ts';
import type { UploadedFile } from './middleware/file-upload.ts';

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by the request-id middleware; echoed as X-Request-ID. */
    requestId: string;
    /** Set by the anonymous-user middleware from the `anonymous_user_id` cookie. */
    anonymousUserId: string;
    /** Set by requireSession (always) and optionalSession (when signed in). */
    auth?: AuthContext;
    /** Set by the file-upload middleware of a multipart operation when its file part came. */
    uploadedFile?: UploadedFile;
  }
}
