/* A main() for the fuzz targets where libFuzzer is not available (gcc):
 *
 *   fuzz_x [-t SECONDS] [-n RUNS] [-s SEED] [-o CRASH_DIR] CORPUS_DIR_OR_FILE...
 *
 * Runs LLVMFuzzerTestOneInput on every corpus file, then on random
 * mutations of them (byte changes, inserts, deletes, truncation, splices
 * of two inputs, "interesting" integers) until RUNS inputs or SECONDS have
 * passed. Before each run the input is written to CRASH_DIR/current-input,
 * so when a sanitizer aborts the process the script can name the input
 * that did it. Not coverage-guided: a smoke test, not a substitute for
 * libFuzzer. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT 65536

typedef struct {
    uint8_t *p;
    size_t   n;
} input_t;

static input_t *inputs;
static size_t   n_inputs, cap_inputs;
static char     current_path[4096];

static uint64_t rng = 0x243f6a8885a308d3ULL;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void add_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return;
    uint8_t *buf = malloc(FUZZ_MAX_INPUT);
    size_t n = buf ? fread(buf, 1, FUZZ_MAX_INPUT, f) : 0;
    fclose(f);
    if (!buf)
        return;
    if (n_inputs == cap_inputs) {
        cap_inputs = cap_inputs ? cap_inputs * 2 : 64;
        inputs = realloc(inputs, cap_inputs * sizeof *inputs);
        if (!inputs)
            abort();
    }
    inputs[n_inputs].p = buf;
    inputs[n_inputs].n = n;
    n_inputs++;
}

static void add_path(const char *path)
{
    struct stat st;
    if (stat(path, &st))
        return;
    if (!S_ISDIR(st.st_mode)) {
        add_file(path);
        return;
    }
    DIR *d = opendir(path);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        add_path(sub);
    }
    closedir(d);
}

/* Runs one input from an exact-size heap copy, after saving it. */
static void run(const uint8_t *p, size_t n)
{
    if (current_path[0]) {
        FILE *f = fopen(current_path, "wb");
        if (f) {
            fwrite(p, 1, n, f);
            fclose(f);
        }
    }
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy)
        abort();
    memcpy(copy, p, n);
    LLVMFuzzerTestOneInput(copy, n);
    free(copy);
}

static const int64_t interesting[] = {0, 1, -1, 0x7f, 0x80, 0xff, 0x7fff, -0x8000, 0xffff, 0x7fffffff,
                                      -0x7fffffff - 1, 0x10000, 61, 49, 12};

static size_t mutate(uint8_t *buf, size_t n, size_t cap)
{
    int edits = 1 + (int)(rnd() % 4);
    for (int e = 0; e < edits; e++) {
        size_t at = n ? (size_t)(rnd() % n) : 0;
        switch (rnd() % 8) {
        case 0: /* random byte */
            if (n)
                buf[at] = (uint8_t)rnd();
            break;
        case 1: /* bit flip */
            if (n)
                buf[at] ^= (uint8_t)(1u << (rnd() % 8));
            break;
        case 2: /* insert bytes */
            if (n < cap) {
                size_t k = 1 + (size_t)(rnd() % 8);
                if (k > cap - n)
                    k = cap - n;
                memmove(buf + at + k, buf + at, n - at);
                for (size_t i = 0; i < k; i++)
                    buf[at + i] = (uint8_t)rnd();
                n += k;
            }
            break;
        case 3: /* delete bytes */
            if (n) {
                size_t k = 1 + (size_t)(rnd() % 8);
                if (k > n - at)
                    k = n - at;
                memmove(buf + at, buf + at + k, n - at - k);
                n -= k;
            }
            break;
        case 4: /* truncate */
            n = at;
            break;
        case 5: { /* an interesting big-endian integer of 1, 2, 4 or 8 bytes */
            int w = 1 << (rnd() % 4);
            int64_t v = interesting[rnd() % (sizeof interesting / sizeof interesting[0])];
            for (int i = 0; i < w && at + (size_t)i < n; i++)
                buf[at + (size_t)i] = (uint8_t)((uint64_t)v >> (8 * (w - 1 - i)));
            break;
        }
        case 6: { /* splice in part of another input */
            const input_t *o = &inputs[rnd() % n_inputs];
            if (o->n) {
                size_t from = (size_t)(rnd() % o->n), k = 1 + (size_t)(rnd() % 32);
                if (k > o->n - from)
                    k = o->n - from;
                if (k > cap - at)
                    k = cap - at;
                memcpy(buf + at, o->p + from, k);
                if (at + k > n)
                    n = at + k;
            }
            break;
        }
        default: /* repeat a byte run */
            if (n) {
                size_t k = 1 + (size_t)(rnd() % 16);
                if (k > n - at)
                    k = n - at;
                memset(buf + at, buf[at], k);
            }
            break;
        }
    }
    return n;
}

int main(int argc, char **argv)
{
    double seconds = 30;
    long runs = -1;
    const char *crash_dir = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i += 2) {
        if (i + 1 >= argc)
            break;
        if (!strcmp(argv[i], "-t"))
            seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "-n"))
            runs = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "-s"))
            rng = strtoull(argv[i + 1], NULL, 0) | 1;
        else if (!strcmp(argv[i], "-o"))
            crash_dir = argv[i + 1];
    }
    if (crash_dir)
        snprintf(current_path, sizeof current_path, "%s/current-input", crash_dir);
    for (; i < argc; i++)
        add_path(argv[i]);
    if (!n_inputs)
        add_file("/dev/null"); /* one empty input to start from */
    if (!n_inputs) {
        fprintf(stderr, "no inputs\n");
        return 2;
    }

    for (size_t k = 0; k < n_inputs; k++)
        run(inputs[k].p, inputs[k].n);

    uint8_t *buf = malloc(FUZZ_MAX_INPUT);
    if (!buf)
        abort();
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long done = 0;
    for (;; done++) {
        if (runs >= 0 && done >= runs)
            break;
        if ((done & 255) == 0) {
            clock_gettime(CLOCK_MONOTONIC, &t);
            if ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 >= seconds)
                break;
        }
        const input_t *in = &inputs[rnd() % n_inputs];
        memcpy(buf, in->p, in->n);
        size_t n = mutate(buf, in->n, FUZZ_MAX_INPUT);
        run(buf, n);
    }
    fprintf(stderr, "standalone fuzz driver: %zu corpus inputs, %ld mutations, no crash\n", n_inputs, done);
    if (current_path[0])
        remove(current_path);
    free(buf);
    return 0;
}
