#ifndef LIPS_CJPEG_SHIM_H
#define LIPS_CJPEG_SHIM_H

#include <stddef.h>

/*
 * libjpeg-turbo behind a small C shim. libjpeg's default error handler prints and
 * calls exit(); these functions install one that longjmps back instead, so every fault comes
 * back as a return code plus libjpeg's own message, and the caller's process keeps running.
 */

/* Return codes. */
#define LIPS_JPEG_OK 0             /* decoded cleanly */
#define LIPS_JPEG_WARNING 1        /* decoded; libjpeg warned (first warning in `message`) */
#define LIPS_JPEG_ERROR (-1)       /* not decodable; libjpeg's message in `message` */
#define LIPS_JPEG_TOO_LARGE (-2)   /* width*height*3 exceeds `capacity`; width and height are set */

/*
 * Decodes the JPEG in `data[0..<size]` to interleaved 8-bit RGB (greyscale and CMYK/YCCK files
 * are converted to RGB by libjpeg) into `rgb_out`, which holds `capacity` bytes. On success and
 * on LIPS_JPEG_TOO_LARGE, `*width` and `*height` are the image size. A truncated file is an
 * error (libjpeg would only warn and fill the rest with grey). `message` receives a
 * NUL-terminated reason when the result is not LIPS_JPEG_OK (it may be NULL).
 */
int lips_jpeg_decode_rgb(const unsigned char *data, size_t size,
                         unsigned char *rgb_out, size_t capacity,
                         int *width, int *height,
                         char *message, size_t message_capacity);

/*
 * Encodes `width`×`height` interleaved pixels of `components` channels (1: greyscale, 3: RGB)
 * at `quality` (1...100; 100 also disables chroma subsampling). On success returns
 * LIPS_JPEG_OK and sets `*out` to a malloc'ed buffer of `*out_size` bytes, to be released with
 * lips_jpeg_free. On failure returns LIPS_JPEG_ERROR with the reason in `message`.
 */
int lips_jpeg_encode(const unsigned char *pixels, int width, int height, int components,
                     int quality, unsigned char **out, size_t *out_size,
                     char *message, size_t message_capacity);

/* Releases a buffer returned by lips_jpeg_encode. */
void lips_jpeg_free(unsigned char *buffer);

#endif
