/* A libFuzzer harness without libFuzzer: every input named on the command
 * line (a file, or each file of a directory, in name order) goes once
 * through LLVMFuzzerTestOneInput.  Arguments that begin with '-' are
 * libFuzzer's flags and are ignored, so tests/fuzz/check.sh runs this as it
 * runs the real fuzzer: the regressions, then the seeds (no mutations).
 *
 * Why: build-asan (gcc, ASan and UBSan) links it with the harnesses whose
 * libFuzzer run belongs to tests/run.sh --full only -- fuzz_pipeline,
 * whose second compile of the whole analyzer under clang was the largest
 * part of build-fuzz -- so that in every run they are still compiled and
 * their invariants still checked, under the sanitizers, on every seed and
 * every committed regression.  A harness's abort() or a sanitizer report
 * ends the process and fails the test. */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* optional in a harness, as for libFuzzer */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Seeds are cut at 64 KiB (seeds.sh) and regressions are small: a larger
 * file is a wrong argument, not an input. */
#define REPLAY_MAX_BYTES (16u << 20)

static unsigned long replayed;

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || (uintmax_t)st.st_size > REPLAY_MAX_BYTES) {
        fprintf(stderr, "replay: %s: not a regular file of at most %u bytes\n", path, REPLAY_MAX_BYTES);
        fclose(f);
        return -1;
    }
    size_t size = (size_t)st.st_size;
    /* at least one byte, so that an empty input is a valid pointer too */
    uint8_t *data = malloc(size ? size : 1);
    if (!data || fread(data, 1, size, f) != size) {
        fprintf(stderr, "replay: %s: cannot read %zu bytes\n", path, size);
        free(data);
        fclose(f);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    replayed++;
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int run_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode))
        return run_file(path);
    struct dirent **names;
    int n = scandir(path, &names, NULL, by_name);
    if (n < 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        if (rc == 0 && name[0] != '.') {
            size_t len = strlen(path) + strlen(name) + 2;
            char *file = malloc(len);
            if (!file) {
                rc = -1;
            } else {
                snprintf(file, len, "%s/%s", path, name);
                rc = run_file(file);
                free(file);
            }
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-')
            continue;
        if (run_path(argv[i]) != 0)
            return 2;
    }
    printf("replayed %lu inputs\n", replayed);
    return 0;
}
