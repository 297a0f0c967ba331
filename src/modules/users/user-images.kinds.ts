import type { ResizeOptions } from 'sharp';

const MiB = 1024 * 1024;

export type ImageKind = 'profile' | 'banner';

export interface ImageKindRules {
  /** The users column holding the image's public-bucket key. */
  column: 'profile_image' | 'banner_image';
  /** The most a client may send; the upload is refused the moment it passes this. */
  maxBytes: number;
  resize: ResizeOptions;
}

export const imageKinds: Record<ImageKind, ImageKindRules> = {
  profile: {
    column: 'profile_image',
    maxBytes: 4 * MiB,
    resize: { width: 512, height: 512, fit: 'cover' },
  },
  banner: {
    column: 'banner_image',
    maxBytes: 8 * MiB,
    resize: { width: 2000, height: 2000, fit: 'inside', withoutEnlargement: true },
  },
};
