export const storageKeys = {
  postContent: (postId: string) => `posts/${postId}`,
  userImage: (sha256: string) => `user-images/${sha256}.webp`,
  sitemapPart: (n: number) => `sitemaps/sitemap-${n}.xml`,
  sitemapIndex: 'sitemaps/sitemap-index.xml',
} as const;
