// Stage timings on stderr (CHISEL_TS_TRACE=1): milliseconds since the process
// started, at the end of each stage of a build (release loaded, planned, cut,
// checked, written). For profiling; nothing else reads them.

const on = Boolean(process.env.CHISEL_TS_TRACE);

export function trace(stage: string): void {
  if (on) process.stderr.write(`[${performance.now().toFixed(1)} ms] ${stage}\n`);
}
