// When a judgement goes stale with time alone: every source (files, endpoints) stores this
// instant as its entry's rejudge_at and judges the target again when the Clock reaches it.
#pragma once

#include <cstdint>

#include "pki/judge/judge_options.h"
#include "pki/judge/report.h"

namespace certwatch::agent {

// When a time-dependent finding of this report may change (not-before reached, expiry
// thresholds crossed, expiry): the earliest such instant after `now`, or INT64_MAX.
int64_t next_rejudge_time(const pki::Report& report, const pki::Thresholds& t, int64_t now);

}  // namespace certwatch::agent
