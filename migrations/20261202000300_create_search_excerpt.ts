import type { Knex } from 'knex';

// ts_headline parses the whole text it is given, as to_tsvector does, so a snippet's cost grew
// with the post: about 3.4 ms for one near the 40,000-character limit, a page of them near
// 70 ms of the database's CPU. This gives it a window instead: the text around the earliest
// occurrence of the first few query words (lower-cased as the 'simple' dictionary lower-cases
// words), or the beginning when none occurs, starting on a whole word. A post no longer than
// the window is given whole, so its snippet is what it was.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create function search_excerpt(content text, terms text[], size int, lead int) returns text
    language plpgsql immutable parallel safe as $$
    declare
      lowered text;
      term text;
      found int;
      earliest int;
      start int;
    begin
      if char_length(content) <= size then
        return content;
      end if;
      lowered := lower(content);
      foreach term in array coalesce(terms, '{}') loop
        found := strpos(lowered, lower(term));
        if found > 0 and (earliest is null or found < earliest) then
          earliest := found;
        end if;
      end loop;
      start := coalesce(earliest, 1) - lead;
      if start <= 1 then
        return substr(content, 1, size);
      end if;
      -- ts_headline fills its words backwards from a match near the end, up to the window's
      -- first word: a word cut in two there would show as a fragment. Read from one character
      -- earlier, the window is cut back to the first whitespace: a word starting exactly at
      -- the window's start is kept, a word cut in two is dropped.
      return regexp_replace(substr(content, start - 1, size + 1), '^\\S*\\s+', '');
    end $$`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop function search_excerpt(text, text[], int, int)');
}
