/* Names for internal error codes; see err.h. */
#include "base/err.h"
#include <string.h>

const char *gr_strerror(int err)
{
    switch (err) {
    case 0: return "success";
    case GR_EMALFORMED: return "malformed input";
    case GR_ETOOBIG: return "size exceeds limit";
    case GR_ECORRUPT: return "corrupt data";
    case GR_ENOTFOUND: return "not found";
    case GR_EEXIST: return "already exists";
    case GR_EINVAL: return "invalid argument";
    case GR_ERANGE: return "out of range";
    case GR_EUNSUPPORTED: return "unsupported";
    case GR_ECRC: return "checksum mismatch";
    case GR_ENOMEM: return "out of memory";
    default:
        if (err < 0 && err > GR_EBASE)
            return strerror(-err);
        return "unknown error";
    }
}
