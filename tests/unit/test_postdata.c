/*
 * tests/unit/test_postdata.c
 *     Cutting pg_restore's post-data script into one script per entry,
 *     each with the session settings pg_restore had in force for it.
 */
#include <stdlib.h>

#include "agent/postdata.h"
#include "check.h"

/* pg_restore's output, laid out as PostgreSQL 15's prints it */
static const char s_script[] =
    "--\n"
    "-- PostgreSQL database dump\n"
    "--\n"
    "\n"
    "SET statement_timeout = 0;\n"
    "SELECT pg_catalog.set_config('search_path', '', false);\n"
    "\n"
    "SET default_tablespace = '';\n"
    "\n"
    "--\n"
    "-- Name: a a_pkey; Type: CONSTRAINT; Schema: public; Owner: postgres\n"
    "--\n"
    "\n"
    "ALTER TABLE ONLY public.a\n"
    "    ADD CONSTRAINT a_pkey PRIMARY KEY (id);\n"
    "\n"
    "\n"
    "SET default_tablespace = fast;\n"
    "\n"
    "--\n"
    "-- Name: a_v; Type: INDEX; Schema: public; Owner: postgres\n"
    "--\n"
    "\n"
    "CREATE INDEX a_v ON public.a USING btree (v);\n"
    "\n"
    "\n"
    "--\n"
    "-- Name: a_w; Type: INDEX; Schema: public; Owner: postgres\n"
    "--\n"
    "\n"
    "CREATE INDEX a_w ON public.a USING btree (w);\n"
    "\n"
    "\n"
    "--\n"
    "-- Name: INDEX a_v; Type: COMMENT; Schema: public; Owner: postgres\n"
    "--\n"
    "\n"
    "COMMENT ON INDEX public.a_v IS 'multi\n"
    "SET default_tablespace = evil;\n"
    "line';\n"
    "\n"
    "\n"
    "SET default_tablespace = '';\n"
    "\n"
    "--\n"
    "-- Name: b b_fk; Type: FK CONSTRAINT; Schema: public; Owner: postgres\n"
    "--\n"
    "\n"
    "ALTER TABLE ONLY public.b\n"
    "    ADD CONSTRAINT b_fk FOREIGN KEY (id) REFERENCES public.a(id);\n"
    "\n"
    "\n"
    "--\n"
    "-- PostgreSQL database dump complete\n"
    "--\n"
    "\n";

static const char *const s_kinds[] = {"CONSTRAINT", "INDEX", "INDEX", "COMMENT",
                                      "FK CONSTRAINT"};

static size_t
s_count(const char *haystack, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(haystack, needle); p != NULL;
         p = strstr(p + 1, needle))
    {
        n++;
    }
    return n;
}

static void
s_free(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
    {
        free(items[i]);
    }
    free(items);
}

static void
s_test_split(void)
{
    char **items = postdata_split(s_script, 5, s_kinds);

    CHECK(items != NULL);
    for (size_t i = 0; i < 5; i++)
    {
        /* the preamble, and one entry each */
        CHECK_CONTAINS(items[i], "SET statement_timeout = 0;");
        CHECK_CONTAINS(items[i], "set_config('search_path', '', false)");
        CHECK(s_count(items[i], "-- Name: ") == 1);
        CHECK(strstr(items[i], "dump complete") == NULL);
    }
    CHECK_CONTAINS(items[0], "ADD CONSTRAINT a_pkey");
    CHECK(strstr(items[0], "fast") == NULL);
    /* the setting printed before a_v holds for a_w too, printed or not */
    CHECK_CONTAINS(items[1],
                   "SET default_tablespace = fast;\n--\n-- Name: a_v");
    CHECK_CONTAINS(items[2],
                   "SET default_tablespace = fast;\n--\n-- Name: a_w");
    CHECK(strstr(items[1], "a_w") == NULL);
    /* a literal's lines are the entry's, whatever they look like */
    CHECK_CONTAINS(items[3], "'multi\nSET default_tablespace = evil;\nline';");
    CHECK(strstr(items[4], "evil") == NULL);
    /* the setting before the foreign key belongs to it, not the comment */
    CHECK(s_count(items[3], "SET default_tablespace = '';") == 1);
    CHECK_CONTAINS(items[4],
                   "SET default_tablespace = '';\n--\n-- Name: b b_fk");
    CHECK_CONTAINS(items[4], "REFERENCES public.a(id);");
    s_free(items, 5);
}

/* Groups of consecutive entries: each runs alone, so it starts with the
 * preamble and the settings in force; inside, the script as printed. */
static void
s_test_groups(void)
{
    const size_t ends[] = {2, 5};
    char **groups = postdata_split_groups(s_script, 5, s_kinds, ends, 2);

    CHECK(groups != NULL && groups[2] == NULL);
    CHECK(s_count(groups[0], "-- Name: ") == 2);
    CHECK(s_count(groups[1], "-- Name: ") == 3);
    for (size_t g = 0; g < 2; g++)
    {
        CHECK(s_count(groups[g], "SET statement_timeout = 0;") == 1);
        CHECK(strstr(groups[g], "dump complete") == NULL);
    }
    /* a_pkey, then the setting printed between it and a_v, then a_v */
    CHECK_CONTAINS(groups[0], "PRIMARY KEY (id);\n\n\nSET default_tablespace "
                              "= fast;\n\n--\n-- Name: a_v");
    /* the next group starts with what was in force: fast */
    CHECK_CONTAINS(groups[1],
                   "SET default_tablespace = fast;\n--\n-- Name: a_w");
    CHECK_CONTAINS(groups[1], "'multi\nSET default_tablespace = evil;\nline';");
    CHECK_CONTAINS(groups[1], "REFERENCES public.a(id);");
    CHECK(strstr(groups[1], "a_pkey") == NULL);
    s_free(groups, 2);

    /* the last group must end with the last entry */
    const size_t short_ends[] = {2, 4};
    CHECK(postdata_split_groups(s_script, 5, s_kinds, short_ends, 2) == NULL);
    /* one group: the whole script less its closing comment */
    const size_t all[] = {5};
    groups = postdata_split_groups(s_script, 5, s_kinds, all, 1);
    CHECK(groups != NULL && s_count(groups[0], "-- Name: ") == 5);
    s_free(groups, 1);
}

static void
s_test_unknown_kind_matches_any(void)
{
    const char *kinds[] = {"CONSTRAINT", NULL, "INDEX", "COMMENT", NULL};
    char **items = postdata_split(s_script, 5, kinds);

    CHECK(items != NULL);
    CHECK_CONTAINS(items[1], "CREATE INDEX a_v");
    s_free(items, 5);
}

static void
s_test_mismatch(void)
{
    const char *wrong[] = {"CONSTRAINT", "INDEX", "TRIGGER", "COMMENT",
                           "FK CONSTRAINT"};
    /* a comment whose text holds a header of its own */
    const char forged[] = "SET statement_timeout = 0;\n\n"
                          "--\n"
                          "-- Name: INDEX a_v; Type: COMMENT; Schema: public; "
                          "Owner: postgres\n"
                          "--\n\n"
                          "COMMENT ON INDEX public.a_v IS 'x\n"
                          "--\n"
                          "-- Name: a_v; Type: COMMENT; Schema: public; "
                          "Owner: postgres\n"
                          "--\n"
                          "';\n\n\n";
    const char *one[] = {"COMMENT"};

    CHECK(postdata_split(s_script, 5, wrong) == NULL);
    CHECK(postdata_split(s_script, 4, s_kinds) == NULL);
    CHECK(postdata_split(s_script, 6,
                         (const char *const[]){"CONSTRAINT", "INDEX", "INDEX",
                                               "COMMENT", "FK CONSTRAINT",
                                               "INDEX"}) == NULL);
    CHECK(postdata_split(forged, 1, one) == NULL);
    CHECK(postdata_split("", 1, one) == NULL);
}

/* pg_restore's passes: objects, then privileges, then what reads data
 * as its owner or acts on what is made */
static void
s_test_passes(void)
{
    Pgconvoy__SchemaItem items[7];
    Pgconvoy__SchemaItem *order[7];
    static const char *const kinds[7] = {"MATERIALIZED VIEW DATA",
                                         "ACL",
                                         "FK CONSTRAINT",
                                         "DEFAULT ACL",
                                         "COMMENT",
                                         "EVENT TRIGGER",
                                         "TRIGGER"};
    static const char *const tags[7] = {"public mv postgres",
                                        "public TABLE t postgres",
                                        "public t t_fk postgres",
                                        "app DEFAULT PRIVILEGES FOR TABLES o",
                                        "- EVENT TRIGGER noted postgres",
                                        "- noted postgres",
                                        "public t t_trg postgres"};

    CHECK(postdata_pass(NULL, "x") == POSTDATA_PASS_MAIN);
    CHECK(postdata_pass("INDEX", "public i postgres") == POSTDATA_PASS_MAIN);
    CHECK(postdata_pass("COMMENT", "public TABLE t postgres") ==
          POSTDATA_PASS_MAIN);
    for (size_t i = 0; i < 7; i++)
    {
        pgconvoy__schema_item__init(&items[i]);
        items[i].kind = (char *) kinds[i];
        items[i].tag = (char *) tags[i];
        order[i] = &items[i];
    }
    postdata_order_items(order, 7);
    /* within a pass, the order they came in */
    CHECK(order[0] == &items[2] && order[1] == &items[6]);
    CHECK(order[2] == &items[1] && order[3] == &items[3]);
    CHECK(order[4] == &items[0] && order[5] == &items[4] &&
          order[6] == &items[5]);
}

int
main(void)
{
    s_test_passes();
    s_test_split();
    s_test_groups();
    s_test_unknown_kind_matches_any();
    s_test_mismatch();
    return 0;
}
