/* The log cleaner's segment files and their crash recovery.
 *
 * Cleaning replaces a group of consecutive closed segments, with base
 * offsets B = b1 < b2 < ... < bk, by one segment holding what survived,
 * named by b1. Kafka's file protocol, with an fsync of the directory
 * between the steps that must not be reordered on disk:
 *
 *   1. write B.log.cleaned, B.index.cleaned, B.timeindex.cleaned; fsync
 *   2. rename them to *.swap (the .log last); fsync the directory
 *        -- from here on B.log.swap is the durable intent: "B.log.swap
 *           replaces every segment whose base lies in [B, its last offset]"
 *   3. (event loop) swap the segment list in memory
 *   4. rename the old segments' files to *.deleted; fsync the directory
 *   5. (event loop) rename B.*.swap to B.* (the .log last); fsync
 *   6. unlink the *.deleted files
 *
 * Recovery (gr_cleaner_recover_dir, run by gr_plog_open before segments
 * are listed) after a crash at any point:
 *   - *.cleaned files are unlinked (step 1 or 2 was not finished; the old
 *     segments are all still in place);
 *   - *.deleted files are unlinked (the swap file replacing them is
 *     durable, or already renamed to .log);
 *   - for each B.log.swap: its batches are walked to find its last offset
 *     L; every segment (.log, .index, .timeindex) whose base lies in
 *     [B, max(B, L)] is unlinked, the directory fsynced, then the swap
 *     files are renamed to their final names and the directory fsynced;
 *   - an .index.swap or .timeindex.swap without its .log.swap is unlinked
 *     (the .log was renamed already; a missing index is rebuilt).
 * An old segment of the group whose base lies above L is kept: it holds no
 * offset the swap has (the swap's offsets all lie below it), only records
 * that were superseded, which the next cleaning removes again.
 *
 * Blocking file I/O; any thread, on a directory no log has open. */
#ifndef GR_LOG_CLEANER_FILES_H
#define GR_LOG_CLEANER_FILES_H

#define GR_CLEANER_CLEANED_SUFFIX ".cleaned"
#define GR_CLEANER_SWAP_SUFFIX ".swap"
#define GR_CLEANER_DELETED_SUFFIX ".deleted"

/* Finishes or undoes an interrupted cleaning in a partition directory, as
 * described above. Returns 0 or the first error (the directory is then
 * left as it was found or part way, and recovery can run again). */
int gr_cleaner_recover_dir(const char *dir);

/* Crash injection for tests (SQLite's way of testing recovery): when the
 * environment variable GREGOR_TEST_CLEANER_CRASH lists name (names
 * separated by commas), the process kills itself with SIGKILL here, as a
 * kill -9 would. Points: "cleaned" (cleaned files written and fsynced),
 * "swap" (renamed *.swap, durable), "installed" (list swapped in memory),
 * "deleting" (first old segment renamed *.deleted), "deleted" (all of
 * them, durable), "renamed" (swap files renamed to their final names),
 * "recover" (recovery removed the replaced segments, before renaming the
 * swap files). */
void gr_cleaner_crash_point(const char *name);

#endif
