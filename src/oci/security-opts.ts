/** HostConfig.SecurityOpt, parsed by Docker's rules. */
import { invalidParameter } from '../common/errors.js';

export interface SecurityOptions {
  noNewPrivileges: boolean;
  /** `unconfined`, or a profile's JSON text (the CLI sends file contents, not paths). */
  seccompProfile?: string;
  apparmorProfile?: string;
  /** SELinux label options (`disable`, `user:...`, ...); accepted, unused on hosts without SELinux. */
  labelOptions: string[];
}

// prettier-ignore
const BOOLEANS: Record<string, boolean> = {
  '1': true, t: true, T: true, TRUE: true, true: true, True: true,
  '0': false, f: false, F: false, FALSE: false, false: false, False: false,
};

/**
 * Accepts `no-new-privileges`, `no-new-privileges=<bool>`, `seccomp=<profile>`,
 * `apparmor=<profile>`, `label=<opt>` and `label=disable` (also with the old
 * `:` separator, as Docker still does).
 */
export function parseSecurityOpts(
  options: readonly string[] | null | undefined,
  defaultNoNewPrivileges = false,
): SecurityOptions {
  const parsed: SecurityOptions = { noNewPrivileges: defaultNoNewPrivileges, labelOptions: [] };
  for (const option of options ?? []) {
    if (option === 'no-new-privileges') {
      parsed.noNewPrivileges = true;
      continue;
    }
    if (option === 'disable') {
      parsed.labelOptions.push('disable');
      continue;
    }
    const eq = option.indexOf('=');
    const colon = option.indexOf(':');
    const split = eq >= 0 ? eq : colon;
    if (split < 0) throw invalidParameter(`invalid --security-opt 1: "${option}"`);
    const key = option.slice(0, split);
    const value = option.slice(split + 1);
    switch (key) {
      case 'label':
        parsed.labelOptions.push(value);
        break;
      case 'apparmor':
        parsed.apparmorProfile = value;
        break;
      case 'seccomp':
        parsed.seccompProfile = value;
        break;
      case 'no-new-privileges': {
        const flag = BOOLEANS[value];
        if (flag === undefined) throw invalidParameter(`invalid --security-opt 2: "${option}"`);
        parsed.noNewPrivileges = flag;
        break;
      }
      default:
        throw invalidParameter(`invalid --security-opt 2: "${option}"`);
    }
  }
  return parsed;
}
