/** The Dockerfile front end: parse, type, expand. */
export { DockerfileError } from './errors.js';
export { parseDockerfile, chompHeredocContent, DEFAULT_ESCAPE_TOKEN } from './parser.js';
export type { Directive, EscapeToken, Heredoc, Node, ParseResult } from './parser.js';
export { parseStages, parseTrigger, parseInstructionLine, stagesFromParseResult } from './instructions.js';
export type * from './instructions.js';
export { parseMountSpec, type RunMount, type MountType, type CacheSharing } from './mount.js';
export {
  commandLine,
  DEFAULT_SHELL,
  expandFrom,
  expandInstruction,
  expandWord,
  expandWords,
  exposedPorts,
  HEREDOC_SCRIPT_DIR,
  type ExpandedFrom,
  type RunScript,
} from './expand.js';
export { envFromList, emptyEnv, ShellLex, type EnvLookup, type LexOptions } from './lex.js';
