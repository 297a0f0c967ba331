import type { Knex } from 'knex';

// ts_headline parses the whole text it is given, as to_tsvector does, so a snippet's cost grew
// with the post: about 3.7 ms for one near the 40,000-character limit, a page of them about
// 74 ms of the database's CPU. The search statement gives it an excerpt instead: the text
// around the earliest occurrence of the query's longer words, or the beginning when none
// occurs. A post no longer than the excerpt is given whole, so its snippet is what it was.
//
// The words are looked for as substrings of the lower-cased text (as the 'simple' dictionary
// lower-cases words): cheap, but a word can also occur inside another, so `has_term` tells the
// caller that the excerpt ought to hold a match, and the caller falls back to the whole text
// when ts_headline found none there.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    create function search_excerpt(
      content text, terms text[], size int, lead int, out excerpt text, out has_term boolean
    )
    language plpgsql immutable parallel safe strict as $$
    declare
      lowered text;
      term text;
      found int;
      earliest int;
    begin
      has_term := false;
      if char_length(content) <= size then
        excerpt := content;
        return;
      end if;
      lowered := lower(content);
      foreach term in array terms loop
        found := strpos(lowered, lower(term));
        if found > 0 and (earliest is null or found < earliest) then
          earliest := found;
        end if;
      end loop;
      has_term := earliest is not null;
      if earliest is null or earliest - lead <= 1 then
        excerpt := substr(content, 1, size);
        return;
      end if;
      -- ts_headline fills its words backwards from a match near the end, up to the excerpt's
      -- first word, which would show as a fragment if the excerpt cut it in two. Read from
      -- one character earlier, a word cut in two is dropped up to its whitespace, and a word
      -- starting exactly there is kept; never further than the lead, so never the match.
      excerpt := regexp_replace(
        substr(content, earliest - lead - 1, size + 1), '^\\S{0,' || lead || '}\\s+', ''
      );
    end $$`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop function search_excerpt(text, text[], int, int)');
}
