/* Internal error codes. Functions return 0 on success or a negative code:
 * -errno for system errors, or one of the GR_E* values below (a reserved
 * range below -4000 that never collides with errno). gr_strerror() names
 * either kind. Kafka's int16 error codes live in protocol/errors.h only. */
#ifndef GR_BASE_ERR_H
#define GR_BASE_ERR_H

enum {
    GR_EBASE = -4000,
    GR_EMALFORMED = -4001,   /* bytes from the wire do not parse */
    GR_ETOOBIG = -4002,      /* a size exceeds a configured limit */
    GR_ECORRUPT = -4003,     /* on-disk data fails a check (CRC, length) */
    GR_ENOTFOUND = -4004,    /* no such topic, partition, key */
    GR_EEXIST = -4005,       /* already exists */
    GR_EINVAL = -4006,       /* invalid argument or configuration */
    GR_ERANGE = -4007,       /* offset or value out of range */
    GR_EUNSUPPORTED = -4008, /* a feature or version we do not implement */
    GR_ECRC = -4009,         /* checksum mismatch */
    GR_ENOMEM = -4010,
};

const char *gr_strerror(int err);

#endif
