/* part_overlap.h - merge refuses two inputs that share records: two
 * overlapping cuts of one capture (`editcap -r 1-1000` and `-r 500-1500`)
 * whose sum would count the packets they share twice, as part_id.h's
 * check refuses a part given twice.  Each input of a run carries a sketch
 * of its records (part_sketch.h, merge_state.state.inputs[].overlap); two
 * inputs whose sketches hold a record in common share that record (a
 * 64-bit hash of its time, lengths, link type and first bytes: two
 * sensors' captures of the same traffic differ in times or link headers
 * and share none).  Inputs of reports written before sketches, and live
 * interfaces, carry none and are not compared. */
#ifndef SMBSCOPE_PART_OVERLAP_H
#define SMBSCOPE_PART_OVERLAP_H

#include <stdbool.h>
#include <stddef.h>

#include "analysis.h"

struct overlap_check;

struct overlap_check *overlap_check_new(void);
/* The inputs a->inputs[from..] that report number `report` added. */
void overlap_check_add(struct overlap_check *c, const struct analysis *a, guint from, int report);
/* After the last report: false when two inputs share records, err naming
 * both, their reports (paths[report]) and how many sampled records they
 * share, *report the later one's. */
bool overlap_check_done(struct overlap_check *c, const struct analysis *a, char *const *paths, int *report,
                        char *err, size_t errlen);
void overlap_check_free(struct overlap_check *c);

#endif
