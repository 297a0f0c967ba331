import { UUID_PATTERN } from '../shared/db/ids.ts';

/**
 * The contract's string formats where the validator's defaults (ajv-formats) accept more than
 * the format means. Its `uuid` also takes the `urn:uuid:` URN form, which is no UUID string
 * and which PostgreSQL's uuid type refuses: such an id passed validation and failed the
 * statement with a 500. Given to the validator's `formats` option, which overrides its own.
 */
export const contractFormats = {
  uuid: UUID_PATTERN,
};
