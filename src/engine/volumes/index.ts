export { copyUp } from './copyup.js';
export { ANONYMOUS_LABEL, LOCAL_DRIVER, type VolumeRecord } from './local.js';
export type { VolumeFilters } from './filters.js';
export {
  VolumeService,
  type VolumeEventSink,
  type VolumeMountInfo,
  type VolumeServiceOptions,
  type VolumeUsage,
} from './service.js';
