import { Command } from 'commander';
import { familiarName, parseNormalizedNamed } from '../../../registry/reference.js';
import type { ImageSummary } from '../../../types/image.js';
import { CliError, type CliContext } from '../../context.js';
import { HEADERS, renderList } from '../../format/formatter.js';
import { TemplateError } from '../../format/template.js';
import { goTimeString, humanSize, humanSizeWithPrecision, timeAgo, truncateId } from '../../format/units.js';
import { collect, filtersJSON } from '../options.js';

/** One row of `docker images`: what --format templates see (docker/cli's imageContext). */
export class ImageContext {
  constructor(
    private readonly image: ImageSummary,
    private readonly repository: string,
    private readonly tag: string,
    private readonly digest: string,
    private readonly trunc: boolean,
  ) {}
  ID(): string {
    return this.trunc ? truncateId(this.image.Id) : this.image.Id;
  }
  Repository(): string {
    return this.repository;
  }
  Tag(): string {
    return this.tag;
  }
  Digest(): string {
    return this.digest;
  }
  CreatedSince(): string {
    return timeAgo(this.image.Created * 1000);
  }
  CreatedAt(): string {
    return goTimeString(this.image.Created);
  }
  Size(): string {
    return humanSizeWithPrecision(this.image.Size, 3);
  }
  Containers(): string {
    return this.image.Containers === -1 ? 'N/A' : String(this.image.Containers);
  }
  VirtualSize(): string {
    return humanSize(this.image.VirtualSize ?? this.image.Size);
  }
  SharedSize(): string {
    return this.image.SharedSize === -1 ? 'N/A' : humanSize(this.image.SharedSize);
  }
  UniqueSize(): string {
    return this.image.SharedSize === -1 ? 'N/A' : humanSize(this.image.Size - this.image.SharedSize);
  }
}

export const IMAGE_HEADERS = {
  ID: 'IMAGE ID',
  Repository: 'REPOSITORY',
  Tag: 'TAG',
  Digest: 'DIGEST',
  CreatedSince: HEADERS.CreatedSince,
  CreatedAt: HEADERS.CreatedAt,
  Size: HEADERS.Size,
  Containers: 'CONTAINERS',
  VirtualSize: 'VIRTUAL SIZE',
  SharedSize: 'SHARED SIZE',
  UniqueSize: 'UNIQUE SIZE',
};

/** docker/cli's imageFormatTaggedAndDigest: a row per repository tag (and digest, with --digests). */
export function imageRows(image: ImageSummary, digests: boolean, trunc: boolean): ImageContext[] {
  const row = (repo: string, tag: string, digest: string): ImageContext =>
    new ImageContext(image, repo, tag, digest, trunc);
  const dangling =
    (image.RepoTags.length === 0 && image.RepoDigests.length === 0) ||
    (image.RepoTags.length === 1 &&
      image.RepoTags[0] === '<none>:<none>' &&
      image.RepoDigests[0] === '<none>@<none>');
  if (dangling) return [row('<none>', '<none>', '<none>')];
  const repoTags = new Map<string, string[]>();
  const repoDigests = new Map<string, string[]>();
  for (const text of image.RepoTags) {
    try {
      const ref = parseNormalizedNamed(text);
      if (ref.tag !== undefined)
        repoTags.set(familiarName(ref), [...(repoTags.get(familiarName(ref)) ?? []), ref.tag]);
    } catch {
      // docker skips references it cannot parse.
    }
  }
  for (const text of image.RepoDigests) {
    try {
      const ref = parseNormalizedNamed(text);
      if (ref.digest !== undefined) {
        repoDigests.set(familiarName(ref), [...(repoDigests.get(familiarName(ref)) ?? []), ref.digest]);
      }
    } catch {
      // As above.
    }
  }
  const rows: ImageContext[] = [];
  for (const [repo, tags] of repoTags) {
    const repoDigestList = digests ? (repoDigests.get(repo) ?? []) : [];
    repoDigests.delete(repo);
    for (const tag of tags) {
      if (repoDigestList.length === 0) rows.push(row(repo, tag, '<none>'));
      for (const digest of repoDigestList) rows.push(row(repo, tag, digest));
    }
  }
  for (const [repo, digestList] of repoDigests) {
    if (digests) for (const digest of digestList) rows.push(row(repo, '<none>', digest));
    else rows.push(row(repo, '<none>', ''));
  }
  return rows;
}

interface ListOptions {
  all?: boolean;
  digests?: boolean;
  filter: string[];
  format?: string;
  noTrunc?: boolean;
  quiet?: boolean;
}

export function renderImages(images: ImageSummary[], options: ListOptions): string {
  const rows = images.flatMap((image) => imageRows(image, Boolean(options.digests), !options.noTrunc));
  const defaultTable = options.digests
    ? 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}'
    : 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';
  try {
    return renderList(rows, options.format, {
      defaultTable,
      quiet: options.quiet,
      headers: IMAGE_HEADERS,
      typeName: '*formatter.imageContext',
    });
  } catch (err) {
    if (err instanceof TemplateError) throw new CliError(err.message);
    throw err;
  }
}

export function imageListCommand(ctx: CliContext, name = 'ls'): Command {
  const command = new Command(name)
    .description('List images')
    .usage('[OPTIONS] [REPOSITORY[:TAG]]')
    .argument('[repository]')
    .option('-a, --all', 'Show all images (default hides intermediate images)')
    .option('--digests', 'Show digests')
    .option('-f, --filter <filter>', 'Filter output based on conditions provided', collect, [])
    .option('--format <string>', 'Format output using a custom template')
    .option('--no-trunc', "Don't truncate output")
    .option('-q, --quiet', 'Only show image IDs')
    .action(async (repository: string | undefined, options: ListOptions & { trunc?: boolean }) => {
      const filters = [...options.filter];
      if (repository) filters.push(`reference=${repository}`);
      const images = await ctx.client().json<ImageSummary[]>('GET', '/images/json', {
        query: { all: options.all ? '1' : undefined, filters: filtersJSON(filters) },
      });
      ctx.write(renderImages(images, { ...options, noTrunc: options.trunc === false }));
    });
  if (name === 'ls') command.alias('list');
  return command;
}
