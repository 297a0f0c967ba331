import type { Request } from 'express';
import { withUploadedFile } from '../../http/middleware/file-upload.ts';
import { requestIp } from '../../http/request-ip.ts';
import { route } from '../../http/typed-handler.ts';
import { currentAuth, requireSession } from '../auth/session/session.port.ts';
import type { ImageActor, UserImagesService } from './user-images.service.ts';

const actorOf = (req: Request): ImageActor => ({
  userId: currentAuth(req).userId,
  ip: requestIp(req),
});

export function userImagesRoutes(images: UserImagesService) {
  return [
    route(
      'uploadProfileImage',
      async ({ req }) => ({
        status: 201,
        body: {
          image_url: await withUploadedFile(req, (bytes, signal) =>
            images.upload(actorOf(req), 'profile', bytes, signal),
          ),
        },
      }),
      [requireSession],
    ),

    route(
      'deleteProfileImage',
      async ({ req }) => {
        await images.remove(actorOf(req), 'profile');
        return { status: 204 };
      },
      [requireSession],
    ),

    route(
      'uploadBannerImage',
      async ({ req }) => ({
        status: 201,
        body: {
          image_url: await withUploadedFile(req, (bytes, signal) =>
            images.upload(actorOf(req), 'banner', bytes, signal),
          ),
        },
      }),
      [requireSession],
    ),

    route(
      'deleteBannerImage',
      async ({ req }) => {
        await images.remove(actorOf(req), 'banner');
        return { status: 204 };
      },
      [requireSession],
    ),
  ];
}
