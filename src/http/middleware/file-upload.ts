import busboy from 'busboy';
import type { ErrorRequestHandler, Request, RequestHandler, Response } from 'express';
import { Gauge, type Registry } from 'prom-client';
import { AppError } from '../../shared/errors/app-error.ts';

export interface UploadedFile {
  bytes: Buffer;
  /** As the client named and typed it: for logs only, never trusted for the content. */
  filename: string | undefined;
  declaredType: string;
  /** Aborted when the client goes away before its answer. */
  signal: AbortSignal;
  place: UploadPlace;
}

export interface FileUploadOptions {
  /** The one file part the operation takes. */
  field: string;
  maxBytes: number;
  /** Shared by every upload route of the app, so their buffers together stay bounded. */
  gate: UploadGate;
}

export interface UploadGate {
  /** Takes a place, or undefined when every place is taken. */
  enter(): UploadPlace | undefined;
}

export interface UploadPlace {
  /** Hands the place to the handler, which leaves it when done; false once it has been left. */
  claim(): boolean;
  readonly claimed: boolean;
  /** Gives the place back; only the first call counts. */
  leave(): void;
}

/**
 * Each upload holds its file in memory until its image is processed, and the stability layer
 * lets hundreds of requests in at once: at most `places` uploads are in flight, so their
 * memory is bounded by `places` times the largest limit. Others answer 503 at once. A place
 * is held for as long as its bytes are, which outlives the response's connection: a client
 * that aborts does not end the processing of what it sent, so closing must not free a place.
 */
export function createUploadGate(places: number, registry: Registry): UploadGate {
  let taken = 0;
  new Gauge({
    name: 'http_uploads_in_flight',
    help: 'Uploads holding a place of the upload gate (UPLOAD_CONCURRENCY_LIMIT)',
    registers: [registry],
    collect() {
      this.set(taken);
    },
  });
  return {
    enter() {
      if (taken >= places) return undefined;
      taken += 1;
      let claimed = false;
      let left = false;
      return {
        claim() {
          if (left) return false;
          claimed = true;
          return true;
        },
        get claimed() {
          return claimed;
        },
        leave() {
          if (left) return;
          left = true;
          taken -= 1;
        },
      };
    },
  };
}

type ReadFile = Omit<UploadedFile, 'signal' | 'place'>;

/** Room for the multipart framing and a few small text parts around the file. */
const FRAMING_ALLOWANCE_BYTES = 64 * 1024;
const MAX_FIELD_BYTES = 1024;
const MAX_PARTS = 8;

/**
 * Runs `work` on the bytes of the file part, holding the upload's place until it settles. The
 * validator has already refused a request without the part, so its absence here means the
 * route lacks its fileUpload parser: a wiring bug, not the client's.
 */
export async function withUploadedFile<T>(
  req: Request,
  work: (bytes: Buffer, signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const upload = req.uploadedFile;
  if (!upload) throw new Error('withUploadedFile() needs the fileUpload parser in front of it');
  // The client left between the parser and here, and its place went with it.
  if (!upload.place.claim()) throw new AppError('general:bad_request', 'The upload was abandoned');
  try {
    return await work(upload.bytes, upload.signal);
  } finally {
    req.uploadedFile = undefined;
    upload.place.leave();
  }
}

/**
 * Put behind the guards and the parser of an upload: a request refused there (401, 503, 413)
 * has its body unread or half read, and Node would drain the rest to keep the connection
 * alive. Closing it after the answer costs the client a reconnect and us no more reading.
 */
export const closeOnRefusal: ErrorRequestHandler = (error, _req, res, next) => {
  res.set('Connection', 'close');
  next(error);
};

export const isMultipart = (req: Request) =>
  (req.headers['content-type'] ?? '').toLowerCase().startsWith('multipart/form-data');

/**
 * Reads a multipart body with one file part into memory, refusing it the moment it passes
 * `maxBytes`: the request stops being read and the connection is closed after the 413, so an
 * oversize upload costs at most the limit, never its full size. Mounted ahead of the contract
 * validator, which then sees the parts as fields (the file as an empty string, the way its own
 * uploader reports files) and refuses a missing `file` or an unknown part with the field
 * named. A body of another content type is left to the validator's 415.
 */
export function fileUpload(options: FileUploadOptions): RequestHandler {
  return (req, res, next) => {
    if (!isMultipart(req)) {
      next();
      return;
    }
    const place = options.gate.enter();
    if (!place) {
      res.set('Connection', 'close');
      next(
        new AppError('system:overloaded', 'Too many uploads in progress; retry shortly', {
          headers: { 'Retry-After': '1' },
        }),
      );
      return;
    }
    const gone = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) gone.abort();
      // Refused before its handler took the bytes (validation, an error): nothing holds them.
      if (!place.claimed) place.leave();
    });
    readUpload(req, res, options).then(
      ({ fields, file }) => {
        req.body = fields;
        if (file) req.uploadedFile = { ...file, signal: gone.signal, place };
        else place.leave();
        next();
      },
      (error: unknown) => {
        place.leave();
        next(error);
      },
    );
  };
}

function readUpload(
  req: Request,
  res: Response,
  options: FileUploadOptions,
): Promise<{ fields: Record<string, string>; file: ReadFile | undefined }> {
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: req.headers,
        limits: {
          // busboy flags a file that reaches its limit; one byte more flags only files over ours.
          fileSize: options.maxBytes + 1,
          files: 2,
          fields: MAX_PARTS,
          parts: MAX_PARTS,
          fieldSize: MAX_FIELD_BYTES,
        },
      });
    } catch (error) {
      reject(badRequest(`The multipart body cannot be read: ${(error as Error).message}`));
      return;
    }

    const fields: Record<string, string> = {};
    let file: ReadFile | undefined;
    let fileRead: Promise<void> = Promise.resolve();
    let settled = false;
    let received = 0;
    const maxBodyBytes = options.maxBytes + FRAMING_ALLOWANCE_BYTES;

    const stop = (error: AppError) => {
      if (settled) return;
      settled = true;
      req.unpipe(parser);
      req.off('data', countBytes);
      req.pause();
      // Close the connection after the answer instead of draining a body nobody will read.
      res.set('Connection', 'close');
      reject(error);
    };
    const tooLarge = () =>
      stop(
        new AppError(
          'file:too_large',
          `The file is larger than the limit of ${options.maxBytes} bytes`,
        ),
      );
    const countBytes = (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxBodyBytes) tooLarge();
    };

    parser.on('file', (name, stream, info) => {
      // A body that ends inside a file part fails the part's stream as well as the parser;
      // without a listener that error would be thrown and take the process down.
      stream.on('error', (error: Error) =>
        stop(badRequest(`The multipart body cannot be read: ${error.message}`)),
      );
      if (name !== options.field) {
        // An unknown file part is reported to the validator like an unknown field.
        fields[name] = '';
        stream.resume();
        return;
      }
      if (file !== undefined || fields[name] !== undefined) {
        stream.resume();
        stop(badRequest(`Send exactly one "${options.field}" part`));
        return;
      }
      fields[name] = '';
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', tooLarge);
      fileRead = new Promise((resolveFile) => {
        stream.on('end', () => {
          file = {
            bytes: Buffer.concat(chunks),
            filename: info.filename,
            declaredType: info.mimeType,
          };
          resolveFile();
        });
      });
    });
    parser.on('field', (name, value, info) => {
      // A text part under the file's name is no file: left out, the validator reports it missing.
      if (name === options.field) return;
      if (info.valueTruncated) {
        stop(badRequest(`The part "${name}" is longer than ${MAX_FIELD_BYTES} bytes`));
        return;
      }
      fields[name] = value;
    });
    parser.on('filesLimit', () => stop(badRequest(`Send exactly one "${options.field}" part`)));
    parser.on('partsLimit', () => stop(badRequest(`Send at most ${MAX_PARTS} parts`)));
    parser.on('fieldsLimit', () => stop(badRequest(`Send at most ${MAX_PARTS} parts`)));
    parser.on('error', (error: Error) =>
      stop(badRequest(`The multipart body cannot be read: ${error.message}`)),
    );
    parser.on('close', () => {
      void fileRead.then(() => {
        if (settled) return;
        settled = true;
        resolve({ fields, file });
      });
    });
    // A body announced larger than any accepted upload is refused before a byte of it is read.
    if (Number(req.headers['content-length'] ?? 0) > maxBodyBytes) {
      tooLarge();
      return;
    }
    req.on('data', countBytes);
    req.on('close', () => {
      if (!req.complete) stop(badRequest('The upload was cut off'));
    });
    req.pipe(parser);
  });
}

const badRequest = (details: string) => new AppError('general:bad_request', details);
