/* Clocks: monotonic for timeouts, wall clock (ms since epoch) for record timestamps. */
#ifndef GR_BASE_CLOCK_H
#define GR_BASE_CLOCK_H
#include <stdint.h>
int64_t gr_clock_mono_ms(void);
int64_t gr_clock_mono_us(void);
int64_t gr_clock_wall_ms(void);
#endif
