-- csdsl sql: snowflake, spec sha256:34e9a4bca8723dcb06eb728c3edc10b67484573a07be3018ba69ee0cbcf32634
-- as of 2026-11-20; tables accounts, metrics, events
-- one row per rule and account: (rule, account_id, truth); truth is NULL when unknown
-- note: snowflake has no sum in a given order: the sums of logins, usage are added in the warehouse's order, so a sum of non-integer values may differ from csdsl's in its last bits
WITH csdsl_asof AS (
  SELECT
    CAST(DATEDIFF(DAY, CAST('0001-01-01' AS DATE), CAST('2026-11-20' AS DATE)) + 1 AS INT) AS asof
), csdsl_accounts AS (
  SELECT
    CAST("id" AS VARCHAR) AS acc,
    CAST("arr" AS DOUBLE) AS f0,
    CAST("csm_sentiment" AS DOUBLE) AS f1,
    CAST("is_strategic" AS BOOLEAN) AS f2,
    CAST("name" AS VARCHAR) AS f3,
    CAST("phase" AS VARCHAR) AS f4,
    CAST("region" AS VARCHAR) AS f5,
    CAST(DATEDIFF(DAY, CAST('0001-01-01' AS DATE), CAST("renewal_date" AS DATE)) + 1 AS INT) AS f6,
    CAST("seats_purchased" AS DOUBLE) AS f7,
    CAST("segment" AS VARCHAR) AS f8,
    CAST(DATEDIFF(DAY, CAST('0001-01-01' AS DATE), CAST("start_date" AS DATE)) + 1 AS INT) AS f9
  FROM accounts
), csdsl_m0 AS (
  SELECT
    CAST("account_id" AS VARCHAR) AS acc,
    CAST(DATEDIFF(DAY, CAST('0001-01-01' AS DATE), CAST("date" AS DATE)) + 1 AS INT) AS day,
    CAST("value" AS DOUBLE) AS value
  FROM metrics
  WHERE
    "metric" = 'logins'
), csdsl_m1 AS (
  SELECT
    CAST("account_id" AS VARCHAR) AS acc,
    CAST(DATEDIFF(DAY, CAST('0001-01-01' AS DATE), CAST("date" AS DATE)) + 1 AS INT) AS day,
    CAST("value" AS DOUBLE) AS value
  FROM metrics
  WHERE
    "metric" = 'usage'
), csdsl_e0 AS (
  SELECT
    CAST("account_id" AS VARCHAR) AS acc,
    CAST(DATEDIFF(DAY, CAST('0001-01-01' AS DATE), CAST("date" AS DATE)) + 1 AS INT) AS day,
    CAST("admin_email" AS VARCHAR) AS f0
  FROM events
  WHERE
    "event" = 'admin_added'
), csdsl_e1 AS (
  SELECT
    CAST("account_id" AS VARCHAR) AS acc,
    CAST(DATEDIFF(DAY, CAST('0001-01-01' AS DATE), CAST("date" AS DATE)) + 1 AS INT) AS day
  FROM events
  WHERE
    "event" = 'contract_signed'
), csdsl_e2 AS (
  SELECT
    CAST("account_id" AS VARCHAR) AS acc,
    CAST(DATEDIFF(DAY, CAST('0001-01-01' AS DATE), CAST("date" AS DATE)) + 1 AS INT) AS day,
    CAST("comment" AS VARCHAR) AS f0,
    CAST("score" AS DOUBLE) AS f1
  FROM events
  WHERE
    "event" = 'nps_response'
), csdsl_e3 AS (
  SELECT
    CAST("account_id" AS VARCHAR) AS acc,
    CAST(DATEDIFF(DAY, CAST('0001-01-01' AS DATE), CAST("date" AS DATE)) + 1 AS INT) AS day
  FROM events
  WHERE
    "event" = 'qbr_held'
), csdsl_e4 AS (
  SELECT
    CAST("account_id" AS VARCHAR) AS acc,
    CAST(DATEDIFF(DAY, CAST('0001-01-01' AS DATE), CAST("date" AS DATE)) + 1 AS INT) AS day,
    CAST("severity" AS VARCHAR) AS f0
  FROM events
  WHERE
    "event" = 'support_escalation'
), _g_csdsl_e2 AS (
  SELECT
    s.acc,
    CASE
      WHEN COALESCE(
        BOOLOR_AGG(
          IFF(s.day > p.asof - 30, (
            (
              s.f1
            ) <= (
              CAST(6.0 AS DOUBLE)
            )
          ), NULL)
        ),
        FALSE
      )
      THEN 1
      WHEN COUNT_IF(s.day > p.asof - 30) > COUNT(
        IFF(s.day > p.asof - 30, (
          (
            s.f1
          ) <= (
            CAST(6.0 AS DOUBLE)
          )
        ), NULL)
      )
      THEN -1
      ELSE 0
    END AS x1,
    CASE
      WHEN COALESCE(
        BOOLOR_AGG(
          IFF(s.day > p.asof - 30, (
            (
              s.f1
            ) >= (
              CAST(9.0 AS DOUBLE)
            )
          ), NULL)
        ),
        FALSE
      )
      THEN 1
      WHEN COUNT_IF(s.day > p.asof - 30) > COUNT(
        IFF(s.day > p.asof - 30, (
          (
            s.f1
          ) >= (
            CAST(9.0 AS DOUBLE)
          )
        ), NULL)
      )
      THEN -1
      ELSE 0
    END AS x8
  FROM csdsl_e2 AS s
  CROSS JOIN csdsl_asof AS p
  WHERE
    s.day <= p.asof
  GROUP BY
    s.acc,
    p.asof
), _g_csdsl_e0 AS (
  SELECT
    s.acc,
    COUNT_IF(s.day > p.asof - 3) AS x2
  FROM csdsl_e0 AS s
  CROSS JOIN csdsl_asof AS p
  WHERE
    s.day <= p.asof
  GROUP BY
    s.acc,
    p.asof
), _g_csdsl_e1 AS (
  SELECT
    s.acc,
    COUNT_IF(s.day > p.asof - 1) AS x3
  FROM csdsl_e1 AS s
  CROSS JOIN csdsl_asof AS p
  WHERE
    s.day <= p.asof
  GROUP BY
    s.acc,
    p.asof
), _g_csdsl_m0 AS (
  SELECT
    s.acc,
    CASE
      WHEN MAX(IFF(s.day > p.asof - 14, ABS(s.value), NULL)) * COUNT_IF(s.day > p.asof - 14) <= CAST(1e+308 AS DOUBLE)
      THEN SUM(IFF(s.day > p.asof - 14, s.value, NULL))
    END AS x4,
    CASE
      WHEN MAX(IFF(s.day > p.asof - 30, ABS(s.value), NULL)) * COUNT_IF(s.day > p.asof - 30) <= CAST(1e+308 AS DOUBLE)
      THEN SUM(IFF(s.day > p.asof - 30, s.value, NULL))
    END AS x7
  FROM csdsl_m0 AS s
  CROSS JOIN csdsl_asof AS p
  WHERE
    s.day <= p.asof
  GROUP BY
    s.acc,
    p.asof
), _g_csdsl_m1 AS (
  SELECT
    s.acc,
    CASE
      WHEN MAX(IFF(s.day > p.asof - 14, ABS(s.value), NULL)) * COUNT_IF(s.day > p.asof - 14) <= CAST(1e+308 AS DOUBLE)
      THEN SUM(IFF(s.day > p.asof - 14, s.value, NULL)) / COUNT_IF(s.day > p.asof - 14)
    END AS x5,
    MIN(IFF(s.day > p.asof - 30, s.value, NULL)) AS x6,
    CASE
      WHEN MAX(IFF(s.day > p.asof - 30, ABS(s.value), NULL)) * COUNT_IF(s.day > p.asof - 30) <= CAST(1e+308 AS DOUBLE)
      THEN SUM(IFF(s.day > p.asof - 30, s.value, NULL)) / COUNT_IF(s.day > p.asof - 30)
    END AS x11,
    CASE
      WHEN MAX(IFF(s.day > p.asof - 60 AND s.day <= p.asof - 30, ABS(s.value), NULL)) * COUNT_IF(s.day > p.asof - 60 AND s.day <= p.asof - 30) <= CAST(1e+308 AS DOUBLE)
      THEN SUM(IFF(s.day > p.asof - 60 AND s.day <= p.asof - 30, s.value, NULL)) / COUNT_IF(s.day > p.asof - 60 AND s.day <= p.asof - 30)
    END AS x12,
    MAX(IFF(s.day > p.asof - 7, s.value, NULL)) AS x14
  FROM csdsl_m1 AS s
  CROSS JOIN csdsl_asof AS p
  WHERE
    s.day <= p.asof
  GROUP BY
    s.acc,
    p.asof
), _g_csdsl_e3 AS (
  SELECT
    s.acc,
    MAX(s.day) AS x9,
    COUNT_IF(s.day > p.asof - 365) AS x10
  FROM csdsl_e3 AS s
  CROSS JOIN csdsl_asof AS p
  WHERE
    s.day <= p.asof
  GROUP BY
    s.acc,
    p.asof
), _g_csdsl_e4 AS (
  SELECT
    s.acc,
    COUNT_IF(s.day > p.asof - 60) AS x13,
    COUNT_IF(s.day > p.asof - 30) AS x15,
    CASE
      WHEN COALESCE(
        BOOLOR_AGG(IFF(s.day > p.asof - 7, (
          (
            s.f0
          ) = (
            'sev1'
          )
        ), NULL)),
        FALSE
      )
      THEN 1
      WHEN COUNT_IF(s.day > p.asof - 7) > COUNT(IFF(s.day > p.asof - 7, (
        (
          s.f0
        ) = (
          'sev1'
        )
      ), NULL))
      THEN -1
      ELSE 0
    END AS x16
  FROM csdsl_e4 AS s
  CROSS JOIN csdsl_asof AS p
  WHERE
    s.day <= p.asof
  GROUP BY
    s.acc,
    p.asof
), csdsl_features AS (
  SELECT
    a.*,
    _g_csdsl_e2.x1,
    _g_csdsl_e2.x8,
    _g_csdsl_e0.x2,
    _g_csdsl_e1.x3,
    _g_csdsl_m0.x4,
    _g_csdsl_m0.x7,
    _g_csdsl_m1.x5,
    _g_csdsl_m1.x6,
    _g_csdsl_m1.x11,
    _g_csdsl_m1.x12,
    _g_csdsl_m1.x14,
    _g_csdsl_e3.x9,
    _g_csdsl_e3.x10,
    _g_csdsl_e4.x13,
    _g_csdsl_e4.x15,
    _g_csdsl_e4.x16
  FROM csdsl_accounts AS a
  LEFT JOIN _g_csdsl_e2
    ON _g_csdsl_e2.acc = a.acc
  LEFT JOIN _g_csdsl_e0
    ON _g_csdsl_e0.acc = a.acc
  LEFT JOIN _g_csdsl_e1
    ON _g_csdsl_e1.acc = a.acc
  LEFT JOIN _g_csdsl_m0
    ON _g_csdsl_m0.acc = a.acc
  LEFT JOIN _g_csdsl_m1
    ON _g_csdsl_m1.acc = a.acc
  LEFT JOIN _g_csdsl_e3
    ON _g_csdsl_e3.acc = a.acc
  LEFT JOIN _g_csdsl_e4
    ON _g_csdsl_e4.acc = a.acc
), csdsl_truth AS (
  SELECT
    a.acc AS acc,
    CAST((
      CASE WHEN COALESCE(a.x1, 0) = 1 THEN TRUE WHEN COALESCE(a.x1, 0) = 0 THEN FALSE END
    ) AS BOOLEAN) AS c0,
    CAST((
      (
        (
          a.f1
        ) <= (
          CAST(3.0 AS DOUBLE)
        )
      )
      AND (
        (
          (
            a.f0
          ) >= (
            CAST(50000.0 AS DOUBLE)
          )
        )
        OR (
          (
            a.f2
          ) = (
            TRUE
          )
        )
      )
    ) AS BOOLEAN) AS c1,
    CAST((
      COALESCE(a.x2, 0) > 0
    ) AS BOOLEAN) AS c2,
    CAST((
      (
        COALESCE(a.x3, 0) > 0
      )
      AND (
        (
          a.f8
        ) IN ('Mid-Market', 'Enterprise')
      )
    ) AS BOOLEAN) AS c3,
    CAST((
      (
        COALESCE(a.x3, 0) > 0
      ) AND (
        (
          a.f8
        ) = (
          'SMB'
        )
      )
    ) AS BOOLEAN) AS c4,
    CAST((
      (
        (
          a.x4
        ) = (
          CAST(0.0 AS DOUBLE)
        )
      )
      AND (
        (
          a.f4
        ) <> (
          'onboarding'
        )
      )
    ) AS BOOLEAN) AS c5,
    CAST((
      (
        (
          a.f4
        ) = (
          'onboarding'
        )
      )
      AND (
        (
          a.f1
        ) <= (
          CAST(4.0 AS DOUBLE)
        )
      )
    ) AS BOOLEAN) AS c6,
    CAST((
      (
        (
          a.f4
        ) = (
          'onboarding'
        )
      )
      AND (
        (
          CAST((
            p.asof - a.f9
          ) AS DOUBLE)
        ) > (
          CAST(60.0 AS DOUBLE)
        )
      )
      AND (
        (
          a.x5
        ) < (
          (
            FILTER(
              [(
                  CAST(0.3 AS DOUBLE)
                ) * (
                  a.f7
              )],
              v -> ABS(v) <= CAST(1.7976931348623157e+308 AS DOUBLE)
            )
          )[0]
        )
      )
    ) AS BOOLEAN) AS c7,
    CAST((
      (
        (
          a.f8
        ) = (
          'Mid-Market'
        )
      )
      AND (
        (
          a.f0
        ) < (
          CAST(40000.0 AS DOUBLE)
        )
      )
      AND (
        (
          a.x6
        ) >= (
          CAST(60.0 AS DOUBLE)
        )
      )
      AND (
        (
          a.x7
        ) >= (
          CAST(1500.0 AS DOUBLE)
        )
      )
    ) AS BOOLEAN) AS c8,
    CAST((
      (
        CASE WHEN COALESCE(a.x8, 0) = 1 THEN TRUE WHEN COALESCE(a.x8, 0) = 0 THEN FALSE END
      )
      AND (
        (
          a.f8
        ) <> (
          'SMB'
        )
      )
      AND (
        (
          a.f4
        ) IN ('adoption', 'success')
      )
    ) AS BOOLEAN) AS c9,
    CAST((
      (
        (
          a.f8
        ) <> (
          'SMB'
        )
      )
      AND (
        NOT (
          (
            a.f4
          ) IN ('onboarding')
        )
      )
      AND (
        (
          (
            CAST((
              p.asof - a.x9
            ) AS DOUBLE)
          ) >= (
            CAST(85.0 AS DOUBLE)
          )
        )
        OR (
          (
            (
              CAST(COALESCE(a.x10, 0) AS DOUBLE)
            ) = (
              CAST(0.0 AS DOUBLE)
            )
          )
          AND (
            (
              CAST((
                p.asof - a.f9
              ) AS DOUBLE)
            ) >= (
              CAST(90.0 AS DOUBLE)
            )
          )
        )
      )
    ) AS BOOLEAN) AS c10,
    CAST((
      (
        CAST((
          a.f6 - p.asof
        ) AS DOUBLE)
      ) = (
        CAST(120.0 AS DOUBLE)
      )
    ) AS BOOLEAN) AS c11,
    CAST((
      (
        (
          CAST((
            a.f6 - p.asof
          ) AS DOUBLE)
        ) > (
          CAST(0.0 AS DOUBLE)
        )
      )
      AND (
        (
          CAST((
            a.f6 - p.asof
          ) AS DOUBLE)
        ) <= (
          CAST(60.0 AS DOUBLE)
        )
      )
      AND (
        (
          (
            a.f1
          ) < (
            CAST(5.0 AS DOUBLE)
          )
        )
        OR (
          (
            (
              FILTER(
                [(
                    a.x11 - a.x12
                ) / NULLIF(a.x12, 0)],
                v -> ABS(v) <= CAST(1.7976931348623157e+308 AS DOUBLE)
              )
            )[0]
          ) <= (
            CAST(-0.2 AS DOUBLE)
          )
        )
        OR (
          (
            CAST(COALESCE(a.x13, 0) AS DOUBLE)
          ) >= (
            CAST(2.0 AS DOUBLE)
          )
        )
      )
    ) AS BOOLEAN) AS c12,
    CAST((
      (
        (
          CAST((
            a.f6 - p.asof
          ) AS DOUBLE)
        ) < (
          CAST(0.0 AS DOUBLE)
        )
      )
      AND (
        (
          CAST((
            a.f6 - p.asof
          ) AS DOUBLE)
        ) >= (
          CAST(-30.0 AS DOUBLE)
        )
      )
      AND (
        (
          a.f4
        ) = (
          'renewal'
        )
      )
    ) AS BOOLEAN) AS c13,
    CAST((
      (
        (
          CAST((
            p.asof - a.f9
          ) AS DOUBLE)
        ) > (
          CAST(90.0 AS DOUBLE)
        )
      )
      AND (
        (
          (
            FILTER(
              [(
                  a.x11
                ) / NULLIF((
                  a.f7
              ), 0)],
              v -> ABS(v) <= CAST(1.7976931348623157e+308 AS DOUBLE)
            )
          )[0]
        ) < (
          CAST(0.2 AS DOUBLE)
        )
      )
      AND (
        NOT (
          a.f2
        )
      )
    ) AS BOOLEAN) AS c14,
    CAST((
      (
        (
          a.x14
        ) >= (
          (
            FILTER(
              [(
                  CAST(0.9 AS DOUBLE)
                ) * (
                  a.f7
              )],
              v -> ABS(v) <= CAST(1.7976931348623157e+308 AS DOUBLE)
            )
          )[0]
        )
      )
      AND (
        (
          a.f4
        ) <> (
          'onboarding'
        )
      )
    ) AS BOOLEAN) AS c15,
    CAST((
      (
        (
          CAST(COALESCE(a.x15, 0) AS DOUBLE)
        ) >= (
          CAST(3.0 AS DOUBLE)
        )
      )
      OR (
        CASE WHEN COALESCE(a.x16, 0) = 1 THEN TRUE WHEN COALESCE(a.x16, 0) = 0 THEN FALSE END
      )
    ) AS BOOLEAN) AS c16,
    CAST((
      (
        (
          (
            FILTER(
              [(
                  a.x11 - a.x12
              ) / NULLIF(a.x12, 0)],
              v -> ABS(v) <= CAST(1.7976931348623157e+308 AS DOUBLE)
            )
          )[0]
        ) <= (
          CAST(-0.3 AS DOUBLE)
        )
      )
      AND (
        (
          a.f8
        ) IN ('Mid-Market', 'Enterprise')
      )
    ) AS BOOLEAN) AS c17,
    CAST((
      (
        (
          a.f8
        ) = (
          'SMB'
        )
      )
      AND (
        (
          (
            FILTER(
              [(
                  a.x11 - a.x12
              ) / NULLIF(a.x12, 0)],
              v -> ABS(v) <= CAST(1.7976931348623157e+308 AS DOUBLE)
            )
          )[0]
        ) <= (
          CAST(-0.4 AS DOUBLE)
        )
      )
    ) AS BOOLEAN) AS c18,
    CAST((
      (
        (
          (
            FILTER(
              [(
                  a.x11 - a.x12
              ) / NULLIF(a.x12, 0)],
              v -> ABS(v) <= CAST(1.7976931348623157e+308 AS DOUBLE)
            )
          )[0]
        ) >= (
          CAST(0.25 AS DOUBLE)
        )
      )
      AND (
        (
          a.x11
        ) >= (
          CAST(20.0 AS DOUBLE)
        )
      )
    ) AS BOOLEAN) AS c19
  FROM csdsl_features AS a
  CROSS JOIN csdsl_asof AS p
)
SELECT
  r.rule,
  t.acc AS account_id,
  CASE r.k
    WHEN 0
    THEN t.c0
    WHEN 1
    THEN t.c1
    WHEN 2
    THEN t.c2
    WHEN 3
    THEN t.c3
    WHEN 4
    THEN t.c4
    WHEN 5
    THEN t.c5
    WHEN 6
    THEN t.c6
    WHEN 7
    THEN t.c7
    WHEN 8
    THEN t.c8
    WHEN 9
    THEN t.c9
    WHEN 10
    THEN t.c10
    WHEN 11
    THEN t.c11
    WHEN 12
    THEN t.c12
    WHEN 13
    THEN t.c13
    WHEN 14
    THEN t.c14
    WHEN 15
    THEN t.c15
    WHEN 16
    THEN t.c16
    WHEN 17
    THEN t.c17
    WHEN 18
    THEN t.c18
    WHEN 19
    THEN t.c19
  END AS truth
FROM csdsl_truth AS t
CROSS JOIN (VALUES
  (0, 'low_nps'),
  (1, 'negative_sentiment'),
  (2, 'new_admin'),
  (3, 'new_customer'),
  (4, 'new_customer_smb'),
  (5, 'no_logins'),
  (6, 'onboarding_escalation'),
  (7, 'onboarding_stalled'),
  (8, 'outgrowing_plan'),
  (9, 'promoter'),
  (10, 'qbr_due'),
  (11, 'renewal_120'),
  (12, 'renewal_at_risk'),
  (13, 'renewal_overdue'),
  (14, 'seat_underuse'),
  (15, 'seats_near_limit'),
  (16, 'support_escalations'),
  (17, 'usage_drop'),
  (18, 'usage_drop_smb'),
  (19, 'usage_growth')) AS r(k, rule);
