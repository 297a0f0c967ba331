import { createHash } from 'node:crypto';
import { Gauge, type Registry } from 'prom-client';
import type { Metadata, Sharp, SharpOptions } from 'sharp';
import { AppError } from '../../shared/errors/app-error.ts';
import { processThreadPoolBudget } from '../../shared/threadpool-budget.ts';
import type { ImageKindRules } from './user-images.kinds.ts';
import { sniffImageFormat, type ImageFormat } from './user-images.sniff.ts';

/**
 * The largest canvas decoded, all frames of an animation together: a 48 MP phone photo fits,
 * and a worst-case decode stays near 200 MB. A file declaring more is refused from its header,
 * before any pixel memory is allocated.
 */
export const MAX_INPUT_PIXELS = 50_000_000;

/** libvips reads animations from these; an animated PNG is decoded as its first frame. */
const ANIMATED_FORMATS: ReadonlySet<ImageFormat> = new Set(['gif', 'webp']);

export interface ProcessedImage {
  bytes: Buffer;
  sha256: string;
}

const invalidImage = (details: string, cause?: unknown) =>
  new AppError('file:invalid_image', details, { cause });

const abandoned = () => new AppError('general:bad_request', 'The upload was abandoned');

/**
 * Decodes, strips, resizes and re-encodes uploads with sharp. Its work runs on libuv's thread
 * pool, never on the event loop; on top of that at most `slots` images are processed at once,
 * each on one libvips thread, so an upload storm leaves a core to the event loop, and threads
 * to argon2 and fs (threadPoolBudget). Later uploads wait for a slot, bounded by the request
 * timeout; one whose client has gone (its signal aborted) leaves the queue at once.
 */
export function createImageProcessor(options: { slots?: number; registry?: Registry } = {}) {
  const slots = options.slots ?? processThreadPoolBudget.images;
  // Loaded with the first image, not at start: libvips costs ~25 MiB of resident memory, which
  // an instance that never takes an upload has no use for.
  let loading: Promise<(input: Buffer, options: SharpOptions) => Sharp> | undefined;
  const loadSharp = () =>
    (loading ??= import('sharp').then(({ default: library }) => {
      // Every upload is a different image: libvips' operation cache would only hold memory.
      library.cache(false);
      library.concurrency(1);
      return library;
    }));

  let busy = 0;
  const waiting: (() => void)[] = [];
  if (options.registry) {
    new Gauge({
      name: 'image_processing_in_flight',
      help: 'Images being processed or waiting for a processing slot, each holding its upload',
      registers: [options.registry],
      collect() {
        this.set(busy + waiting.length);
      },
    });
  }

  async function takeSlot(signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) throw abandoned();
    if (busy < slots) {
      busy += 1;
      return;
    }
    await new Promise<void>((resolve, reject) => {
      const admit = () => {
        signal?.removeEventListener('abort', leave);
        resolve();
      };
      const leave = () => {
        waiting.splice(waiting.indexOf(admit), 1);
        reject(abandoned());
      };
      waiting.push(admit);
      signal?.addEventListener('abort', leave, { once: true });
    });
  }

  async function inSlot<T>(work: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    await takeSlot(signal);
    try {
      return await work();
    } finally {
      // The slot passes straight to the next waiter, so `busy` only drops when none waits.
      const next = waiting.shift();
      if (next) next();
      else busy -= 1;
    }
  }

  async function transform(
    input: Buffer,
    format: ImageFormat,
    rules: ImageKindRules,
  ): Promise<Buffer> {
    const sharp = await loadSharp();
    let header: Metadata;
    try {
      // Only headers are read here, so no limit yet: the count below is checked against ours.
      header = await sharp(input, { limitInputPixels: false }).metadata();
    } catch (error) {
      throw invalidImage(`The file is not a readable ${format.toUpperCase()} image`, error);
    }
    if (header.format !== format) {
      throw invalidImage(`The file starts like a ${format.toUpperCase()} image but is not one`);
    }
    const animated = ANIMATED_FORMATS.has(format) && (header.pages ?? 1) > 1;
    const pixels = header.width * header.height * (animated ? (header.pages ?? 1) : 1);
    if (pixels > MAX_INPUT_PIXELS) {
      throw invalidImage(
        `The image declares ${pixels} pixels; the limit is ${MAX_INPUT_PIXELS} (all frames together)`,
      );
    }
    try {
      return await sharp(input, {
        animated,
        limitInputPixels: MAX_INPUT_PIXELS,
        // libvips only warns on a truncated JPEG and paints the missing part grey: a warning
        // refuses the file instead of storing half an image.
        failOn: 'warning',
      })
        .autoOrient()
        .resize(rules.resize)
        // No keepMetadata: EXIF (GPS included), XMP, IPTC and ICC are all dropped; pixels are
        // converted to sRGB first, so colours survive the loss of the profile.
        .webp({ quality: 82 })
        .toBuffer();
    } catch (error) {
      throw invalidImage(`The ${format.toUpperCase()} image cannot be decoded`, error);
    }
  }

  return {
    /** Throws file:unsupported_type (415) or file:invalid_image (400) for what it refuses. */
    async process(
      input: Buffer,
      rules: ImageKindRules,
      signal?: AbortSignal,
    ): Promise<ProcessedImage> {
      // No type to name, and nothing to decode: an empty file is the extreme of a truncated one.
      if (input.length === 0) throw invalidImage('The file is empty');
      const format = sniffImageFormat(input);
      if (!format) {
        throw new AppError(
          'file:unsupported_type',
          'The file is not a JPEG, PNG, GIF or WebP image',
        );
      }
      const bytes = await inSlot(() => transform(input, format, rules), signal);
      return { bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
    },
  };
}

export type ImageProcessor = ReturnType<typeof createImageProcessor>;
