/**
 * The cutover's closing word on sessions when the rewrite did not take them (0.10.3 imports projects only):
 * how many have an agent resume id, and the command that lists them with the command that resumes each.
 * An import outcome without `sessionsInRewrite` (the step does not know) gets no claim.
 */
export function resumeGuideNote(outcome: object): string | undefined {
  const { sessions, sessionsWithResumeId, sessionsInRewrite } = outcome as { sessions?: unknown; sessionsWithResumeId?: unknown; sessionsInRewrite?: unknown };
  if (typeof sessions !== 'number' || typeof sessionsWithResumeId !== 'number' || typeof sessionsInRewrite !== 'number' || sessionsInRewrite >= sessions)
    return undefined;
  return `  ${sessionsWithResumeId} of your ${sessions} legacy sessions have an agent resume id that ao did not import; list them, with the command that resumes each: ao-legacy-import sessions`;
}

/** The one-line hook for the cutover's final report. */
export function logResumeGuide(outcome: object, log: (line: string) => void): void {
  const note = resumeGuideNote(outcome);
  if (note) log(note);
}
