/** Container log drivers: writing a container's output, reading it back for `logs` and `attach --logs`. */
export {
  FileLogWriter,
  JsonFileWriter,
  LOG_DRIVER_NAMES,
  createLogWriter,
  driverReads,
  isLogDriver,
  logAttributes,
  logPathFor,
  parseSize,
  readJsonLog,
  readLog,
  readLogBatches,
  validateLogOptions,
  type LogContext,
  type LogDriverName,
} from './drivers.js';
export type { LogEntry, LogWriter, ReadLogOptions, StdStream } from './types.js';
export type { RotationOptions } from './logfile.js';
