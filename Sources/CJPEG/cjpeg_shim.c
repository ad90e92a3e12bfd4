#include "cjpeg_shim.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

/* libjpeg's error manager plus a way back out of the library. */
struct lips_error_manager {
    struct jpeg_error_mgr base;
    jmp_buf escape;
    char *message;
    size_t message_capacity;
    int warned;
};

static void lips_store_message(j_common_ptr info, char *message, size_t capacity) {
    if (message == NULL || capacity == 0) return;
    char text[JMSG_LENGTH_MAX];
    text[0] = '\0';
    (*info->err->format_message)(info, text);
    snprintf(message, capacity, "%s", text);
}

/* Fatal errors: record the message and jump back instead of exit(). */
static void lips_error_exit(j_common_ptr info) {
    struct lips_error_manager *manager = (struct lips_error_manager *)info->err;
    lips_store_message(info, manager->message, manager->message_capacity);
    longjmp(manager->escape, 1);
}

/* Warnings (level -1) are kept, not printed; a premature end of file is treated as fatal,
   since libjpeg would fill the missing rows with grey. Trace messages (level >= 0) are dropped. */
static void lips_emit_message(j_common_ptr info, int level) {
    struct lips_error_manager *manager = (struct lips_error_manager *)info->err;
    if (level != -1) return;
    if (info->err->msg_code == JWRN_JPEG_EOF) {
        lips_error_exit(info);
        return;
    }
    if (!manager->warned) {
        lips_store_message(info, manager->message, manager->message_capacity);
        manager->warned = 1;
    }
    info->err->num_warnings++;
}

static void lips_output_message(j_common_ptr info) {
    (void)info; /* never print to stderr */
}

static void lips_install(struct lips_error_manager *manager, char *message, size_t message_capacity) {
    jpeg_std_error(&manager->base);
    manager->base.error_exit = lips_error_exit;
    manager->base.emit_message = lips_emit_message;
    manager->base.output_message = lips_output_message;
    manager->message = message;
    manager->message_capacity = message_capacity;
    manager->warned = 0;
    if (message != NULL && message_capacity > 0) message[0] = '\0';
}

int lips_jpeg_decode_rgb(const unsigned char *data, size_t size,
                         unsigned char *rgb_out, size_t capacity,
                         int *width, int *height,
                         char *message, size_t message_capacity) {
    struct jpeg_decompress_struct info;
    struct lips_error_manager manager;
    lips_install(&manager, message, message_capacity);
    info.err = &manager.base;
    if (width) *width = 0;
    if (height) *height = 0;
    if (data == NULL || size == 0) {
        if (message != NULL && message_capacity > 0) snprintf(message, message_capacity, "empty input file");
        return LIPS_JPEG_ERROR;
    }
    if (setjmp(manager.escape)) {
        jpeg_destroy_decompress(&info);
        return LIPS_JPEG_ERROR;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, data, (unsigned long)size);
    jpeg_read_header(&info, TRUE);
    info.out_color_space = JCS_RGB;
    /* The size is checked before jpeg_start_decompress: for a progressive or multi-scan file
       that call allocates coefficient buffers for the whole image (gigabytes for the 65500x65500
       a header may claim) and reads every scan into them. */
    jpeg_calc_output_dimensions(&info);
    if (width) *width = (int)info.output_width;
    if (height) *height = (int)info.output_height;
    size_t row_bytes = (size_t)info.output_width * (size_t)info.output_components;
    if (info.output_components != 3 || rgb_out == NULL ||
        (info.output_height > 0 && row_bytes > capacity / (size_t)info.output_height)) {
        if (message != NULL && message_capacity > 0) {
            snprintf(message, message_capacity, "image is %ux%u with %d components, the buffer holds %zu bytes",
                     (unsigned)info.output_width, (unsigned)info.output_height, info.output_components, capacity);
        }
        jpeg_destroy_decompress(&info);
        return LIPS_JPEG_TOO_LARGE;
    }
    JDIMENSION checked_height = info.output_height;
    jpeg_start_decompress(&info);
    if ((size_t)info.output_width * (size_t)info.output_components != row_bytes || info.output_height != checked_height) {
        /* Not expected (the dimensions were computed above); never write past the buffer. */
        if (message != NULL && message_capacity > 0) snprintf(message, message_capacity, "image size changed while decoding");
        jpeg_destroy_decompress(&info);
        return LIPS_JPEG_ERROR;
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW row = rgb_out + (size_t)info.output_scanline * row_bytes;
        jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
    jpeg_destroy_decompress(&info);
    return manager.warned ? LIPS_JPEG_WARNING : LIPS_JPEG_OK;
}

int lips_jpeg_encode(const unsigned char *pixels, int width, int height, int components,
                     int quality, unsigned char **out, size_t *out_size,
                     char *message, size_t message_capacity) {
    struct jpeg_compress_struct info;
    struct lips_error_manager manager;
    unsigned char *buffer = NULL;
    unsigned long buffer_size = 0;
    lips_install(&manager, message, message_capacity);
    info.err = &manager.base;
    *out = NULL;
    *out_size = 0;
    if (pixels == NULL || width <= 0 || height <= 0 || (components != 1 && components != 3)) {
        if (message != NULL && message_capacity > 0) {
            snprintf(message, message_capacity, "cannot encode %dx%d pixels of %d components", width, height, components);
        }
        return LIPS_JPEG_ERROR;
    }
    if (setjmp(manager.escape)) {
        /* The memory destination's current buffer is not reachable from here (libjpeg-turbo
           publishes it only when compression finishes), so it is left behind, not freed twice. */
        jpeg_destroy_compress(&info);
        return LIPS_JPEG_ERROR;
    }
    jpeg_create_compress(&info);
    jpeg_mem_dest(&info, &buffer, &buffer_size);
    info.image_width = (JDIMENSION)width;
    info.image_height = (JDIMENSION)height;
    info.input_components = components;
    info.in_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&info);
    jpeg_set_quality(&info, quality < 1 ? 1 : (quality > 100 ? 100 : quality), TRUE);
    if (quality >= 100 && components == 3) {
        /* No chroma subsampling: every component at full resolution. */
        for (int c = 0; c < info.num_components; c++) {
            info.comp_info[c].h_samp_factor = 1;
            info.comp_info[c].v_samp_factor = 1;
        }
    }
    jpeg_start_compress(&info, TRUE);
    size_t row_bytes = (size_t)width * (size_t)components;
    while (info.next_scanline < info.image_height) {
        JSAMPROW row = (JSAMPROW)(pixels + (size_t)info.next_scanline * row_bytes);
        jpeg_write_scanlines(&info, &row, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    *out = buffer;
    *out_size = (size_t)buffer_size;
    return LIPS_JPEG_OK;
}

void lips_jpeg_free(unsigned char *buffer) {
    free(buffer);
}
