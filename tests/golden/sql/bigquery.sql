-- csdsl sql: bigquery, spec sha256:34e9a4bca8723dcb06eb728c3edc10b67484573a07be3018ba69ee0cbcf32634
-- as of 2026-11-20; tables accounts, metrics, events
-- one row per rule and account: (rule, account_id, truth); truth is NULL when unknown
-- note: bigquery has no sum in a given order: the sums of logins, usage are added in the warehouse's order, so a sum of non-integer values may differ from csdsl's in its last bits
WITH csdsl_asof AS (
  SELECT
    CAST(DATE_DIFF(CAST('2026-11-20' AS DATE), CAST('0001-01-01' AS DATE), DAY) + 1 AS INT64) AS asof
), csdsl_accounts AS (
  SELECT
    CAST(`id` AS STRING) AS acc,
    CAST(`arr` AS FLOAT64) AS f0,
    CAST(`csm_sentiment` AS FLOAT64) AS f1,
    CAST(`is_strategic` AS BOOL) AS f2,
    CAST(`name` AS STRING) AS f3,
    CAST(`phase` AS STRING) AS f4,
    CAST(`region` AS STRING) AS f5,
    CAST(DATE_DIFF(CAST(`renewal_date` AS DATE), CAST('0001-01-01' AS DATE), DAY) + 1 AS INT64) AS f6,
    CAST(`seats_purchased` AS FLOAT64) AS f7,
    CAST(`segment` AS STRING) AS f8,
    CAST(DATE_DIFF(CAST(`start_date` AS DATE), CAST('0001-01-01' AS DATE), DAY) + 1 AS INT64) AS f9
  FROM accounts
), csdsl_m0 AS (
  SELECT
    CAST(`account_id` AS STRING) AS acc,
    CAST(DATE_DIFF(CAST(`date` AS DATE), CAST('0001-01-01' AS DATE), DAY) + 1 AS INT64) AS day,
    CAST(`value` AS FLOAT64) AS value
  FROM metrics
  WHERE
    `metric` = 'logins'
), csdsl_m1 AS (
  SELECT
    CAST(`account_id` AS STRING) AS acc,
    CAST(DATE_DIFF(CAST(`date` AS DATE), CAST('0001-01-01' AS DATE), DAY) + 1 AS INT64) AS day,
    CAST(`value` AS FLOAT64) AS value
  FROM metrics
  WHERE
    `metric` = 'usage'
), csdsl_e0 AS (
  SELECT
    CAST(`account_id` AS STRING) AS acc,
    CAST(DATE_DIFF(CAST(`date` AS DATE), CAST('0001-01-01' AS DATE), DAY) + 1 AS INT64) AS day,
    CAST(`admin_email` AS STRING) AS f0
  FROM events
  WHERE
    `event` = 'admin_added'
), csdsl_e1 AS (
  SELECT
    CAST(`account_id` AS STRING) AS acc,
    CAST(DATE_DIFF(CAST(`date` AS DATE), CAST('0001-01-01' AS DATE), DAY) + 1 AS INT64) AS day
  FROM events
  WHERE
    `event` = 'contract_signed'
), csdsl_e2 AS (
  SELECT
    CAST(`account_id` AS STRING) AS acc,
    CAST(DATE_DIFF(CAST(`date` AS DATE), CAST('0001-01-01' AS DATE), DAY) + 1 AS INT64) AS day,
    CAST(`comment` AS STRING) AS f0,
    CAST(`score` AS FLOAT64) AS f1
  FROM events
  WHERE
    `event` = 'nps_response'
), csdsl_e3 AS (
  SELECT
    CAST(`account_id` AS STRING) AS acc,
    CAST(DATE_DIFF(CAST(`date` AS DATE), CAST('0001-01-01' AS DATE), DAY) + 1 AS INT64) AS day
  FROM events
  WHERE
    `event` = 'qbr_held'
), csdsl_e4 AS (
  SELECT
    CAST(`account_id` AS STRING) AS acc,
    CAST(DATE_DIFF(CAST(`date` AS DATE), CAST('0001-01-01' AS DATE), DAY) + 1 AS INT64) AS day,
    CAST(`severity` AS STRING) AS f0
  FROM events
  WHERE
    `event` = 'support_escalation'
), _g_csdsl_e2 AS (
  SELECT
    s.acc,
    CASE
      WHEN COALESCE(
        LOGICAL_OR(
          IF(s.day > p.asof - 30, (
            (
              s.f1
            ) <= (
              CAST(6.0 AS FLOAT64)
            )
          ), NULL)
        ),
        FALSE
      )
      THEN 1
      WHEN COUNTIF(s.day > p.asof - 30) > COUNT(
        IF(s.day > p.asof - 30, (
          (
            s.f1
          ) <= (
            CAST(6.0 AS FLOAT64)
          )
        ), NULL)
      )
      THEN -1
      ELSE 0
    END AS x1,
    CASE
      WHEN COALESCE(
        LOGICAL_OR(
          IF(s.day > p.asof - 30, (
            (
              s.f1
            ) >= (
              CAST(9.0 AS FLOAT64)
            )
          ), NULL)
        ),
        FALSE
      )
      THEN 1
      WHEN COUNTIF(s.day > p.asof - 30) > COUNT(
        IF(s.day > p.asof - 30, (
          (
            s.f1
          ) >= (
            CAST(9.0 AS FLOAT64)
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
    COUNTIF(s.day > p.asof - 3) AS x2
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
    COUNTIF(s.day > p.asof - 1) AS x3
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
      WHEN MAX(IF(s.day > p.asof - 14, ABS(s.value), NULL)) * COUNTIF(s.day > p.asof - 14) <= CAST(1e+308 AS FLOAT64)
      THEN SUM(IF(s.day > p.asof - 14, s.value, NULL))
    END AS x4,
    CASE
      WHEN MAX(IF(s.day > p.asof - 30, ABS(s.value), NULL)) * COUNTIF(s.day > p.asof - 30) <= CAST(1e+308 AS FLOAT64)
      THEN SUM(IF(s.day > p.asof - 30, s.value, NULL))
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
      WHEN MAX(IF(s.day > p.asof - 14, ABS(s.value), NULL)) * COUNTIF(s.day > p.asof - 14) <= CAST(1e+308 AS FLOAT64)
      THEN SUM(IF(s.day > p.asof - 14, s.value, NULL)) / COUNTIF(s.day > p.asof - 14)
    END AS x5,
    MIN(IF(s.day > p.asof - 30, s.value, NULL)) AS x6,
    CASE
      WHEN MAX(IF(s.day > p.asof - 30, ABS(s.value), NULL)) * COUNTIF(s.day > p.asof - 30) <= CAST(1e+308 AS FLOAT64)
      THEN SUM(IF(s.day > p.asof - 30, s.value, NULL)) / COUNTIF(s.day > p.asof - 30)
    END AS x11,
    CASE
      WHEN MAX(IF(s.day > p.asof - 60 AND s.day <= p.asof - 30, ABS(s.value), NULL)) * COUNTIF(s.day > p.asof - 60 AND s.day <= p.asof - 30) <= CAST(1e+308 AS FLOAT64)
      THEN SUM(IF(s.day > p.asof - 60 AND s.day <= p.asof - 30, s.value, NULL)) / COUNTIF(s.day > p.asof - 60 AND s.day <= p.asof - 30)
    END AS x12,
    MAX(IF(s.day > p.asof - 7, s.value, NULL)) AS x14
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
    COUNTIF(s.day > p.asof - 365) AS x10
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
    COUNTIF(s.day > p.asof - 60) AS x13,
    COUNTIF(s.day > p.asof - 30) AS x15,
    CASE
      WHEN COALESCE(
        LOGICAL_OR(IF(s.day > p.asof - 7, (
          (
            s.f0
          ) = (
            'sev1'
          )
        ), NULL)),
        FALSE
      )
      THEN 1
      WHEN COUNTIF(s.day > p.asof - 7) > COUNT(IF(s.day > p.asof - 7, (
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
    ) AS BOOL) AS c0,
    CAST((
      (
        (
          a.f1
        ) <= (
          CAST(3.0 AS FLOAT64)
        )
      )
      AND (
        (
          (
            a.f0
          ) >= (
            CAST(50000.0 AS FLOAT64)
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
    ) AS BOOL) AS c1,
    CAST((
      COALESCE(a.x2, 0) > 0
    ) AS BOOL) AS c2,
    CAST((
      (
        COALESCE(a.x3, 0) > 0
      )
      AND (
        (
          a.f8
        ) IN ('Mid-Market', 'Enterprise')
      )
    ) AS BOOL) AS c3,
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
    ) AS BOOL) AS c4,
    CAST((
      (
        (
          a.x4
        ) = (
          CAST(0.0 AS FLOAT64)
        )
      )
      AND (
        (
          a.f4
        ) <> (
          'onboarding'
        )
      )
    ) AS BOOL) AS c5,
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
          CAST(4.0 AS FLOAT64)
        )
      )
    ) AS BOOL) AS c6,
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
          ) AS FLOAT64)
        ) > (
          CAST(60.0 AS FLOAT64)
        )
      )
      AND (
        (
          a.x5
        ) < (
          (
            ARRAY(
              SELECT
                v
              FROM UNNEST([(
                  CAST(0.3 AS FLOAT64)
                ) * (
                  a.f7
              )]) AS v
              WHERE
                ABS(v) <= CAST(1.7976931348623157e+308 AS FLOAT64)
            )
          )[SAFE_OFFSET(0)]
        )
      )
    ) AS BOOL) AS c7,
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
          CAST(40000.0 AS FLOAT64)
        )
      )
      AND (
        (
          a.x6
        ) >= (
          CAST(60.0 AS FLOAT64)
        )
      )
      AND (
        (
          a.x7
        ) >= (
          CAST(1500.0 AS FLOAT64)
        )
      )
    ) AS BOOL) AS c8,
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
    ) AS BOOL) AS c9,
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
            ) AS FLOAT64)
          ) >= (
            CAST(85.0 AS FLOAT64)
          )
        )
        OR (
          (
            (
              CAST(COALESCE(a.x10, 0) AS FLOAT64)
            ) = (
              CAST(0.0 AS FLOAT64)
            )
          )
          AND (
            (
              CAST((
                p.asof - a.f9
              ) AS FLOAT64)
            ) >= (
              CAST(90.0 AS FLOAT64)
            )
          )
        )
      )
    ) AS BOOL) AS c10,
    CAST((
      (
        CAST((
          a.f6 - p.asof
        ) AS FLOAT64)
      ) = (
        CAST(120.0 AS FLOAT64)
      )
    ) AS BOOL) AS c11,
    CAST((
      (
        (
          CAST((
            a.f6 - p.asof
          ) AS FLOAT64)
        ) > (
          CAST(0.0 AS FLOAT64)
        )
      )
      AND (
        (
          CAST((
            a.f6 - p.asof
          ) AS FLOAT64)
        ) <= (
          CAST(60.0 AS FLOAT64)
        )
      )
      AND (
        (
          (
            a.f1
          ) < (
            CAST(5.0 AS FLOAT64)
          )
        )
        OR (
          (
            (
              ARRAY(
                SELECT
                  v
                FROM UNNEST([(
                    a.x11 - a.x12
                ) / NULLIF(a.x12, 0)]) AS v
                WHERE
                  ABS(v) <= CAST(1.7976931348623157e+308 AS FLOAT64)
              )
            )[SAFE_OFFSET(0)]
          ) <= (
            CAST(-0.2 AS FLOAT64)
          )
        )
        OR (
          (
            CAST(COALESCE(a.x13, 0) AS FLOAT64)
          ) >= (
            CAST(2.0 AS FLOAT64)
          )
        )
      )
    ) AS BOOL) AS c12,
    CAST((
      (
        (
          CAST((
            a.f6 - p.asof
          ) AS FLOAT64)
        ) < (
          CAST(0.0 AS FLOAT64)
        )
      )
      AND (
        (
          CAST((
            a.f6 - p.asof
          ) AS FLOAT64)
        ) >= (
          CAST(-30.0 AS FLOAT64)
        )
      )
      AND (
        (
          a.f4
        ) = (
          'renewal'
        )
      )
    ) AS BOOL) AS c13,
    CAST((
      (
        (
          CAST((
            p.asof - a.f9
          ) AS FLOAT64)
        ) > (
          CAST(90.0 AS FLOAT64)
        )
      )
      AND (
        (
          (
            ARRAY(
              SELECT
                v
              FROM UNNEST([(
                  a.x11
                ) / NULLIF((
                  a.f7
              ), 0)]) AS v
              WHERE
                ABS(v) <= CAST(1.7976931348623157e+308 AS FLOAT64)
            )
          )[SAFE_OFFSET(0)]
        ) < (
          CAST(0.2 AS FLOAT64)
        )
      )
      AND (
        NOT (
          a.f2
        )
      )
    ) AS BOOL) AS c14,
    CAST((
      (
        (
          a.x14
        ) >= (
          (
            ARRAY(
              SELECT
                v
              FROM UNNEST([(
                  CAST(0.9 AS FLOAT64)
                ) * (
                  a.f7
              )]) AS v
              WHERE
                ABS(v) <= CAST(1.7976931348623157e+308 AS FLOAT64)
            )
          )[SAFE_OFFSET(0)]
        )
      )
      AND (
        (
          a.f4
        ) <> (
          'onboarding'
        )
      )
    ) AS BOOL) AS c15,
    CAST((
      (
        (
          CAST(COALESCE(a.x15, 0) AS FLOAT64)
        ) >= (
          CAST(3.0 AS FLOAT64)
        )
      )
      OR (
        CASE WHEN COALESCE(a.x16, 0) = 1 THEN TRUE WHEN COALESCE(a.x16, 0) = 0 THEN FALSE END
      )
    ) AS BOOL) AS c16,
    CAST((
      (
        (
          (
            ARRAY(
              SELECT
                v
              FROM UNNEST([(
                  a.x11 - a.x12
              ) / NULLIF(a.x12, 0)]) AS v
              WHERE
                ABS(v) <= CAST(1.7976931348623157e+308 AS FLOAT64)
            )
          )[SAFE_OFFSET(0)]
        ) <= (
          CAST(-0.3 AS FLOAT64)
        )
      )
      AND (
        (
          a.f8
        ) IN ('Mid-Market', 'Enterprise')
      )
    ) AS BOOL) AS c17,
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
            ARRAY(
              SELECT
                v
              FROM UNNEST([(
                  a.x11 - a.x12
              ) / NULLIF(a.x12, 0)]) AS v
              WHERE
                ABS(v) <= CAST(1.7976931348623157e+308 AS FLOAT64)
            )
          )[SAFE_OFFSET(0)]
        ) <= (
          CAST(-0.4 AS FLOAT64)
        )
      )
    ) AS BOOL) AS c18,
    CAST((
      (
        (
          (
            ARRAY(
              SELECT
                v
              FROM UNNEST([(
                  a.x11 - a.x12
              ) / NULLIF(a.x12, 0)]) AS v
              WHERE
                ABS(v) <= CAST(1.7976931348623157e+308 AS FLOAT64)
            )
          )[SAFE_OFFSET(0)]
        ) >= (
          CAST(0.25 AS FLOAT64)
        )
      )
      AND (
        (
          a.x11
        ) >= (
          CAST(20.0 AS FLOAT64)
        )
      )
    ) AS BOOL) AS c19
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
CROSS JOIN UNNEST([
  STRUCT(0 AS k, 'low_nps' AS rule),
  STRUCT(1 AS k, 'negative_sentiment' AS rule),
  STRUCT(2 AS k, 'new_admin' AS rule),
  STRUCT(3 AS k, 'new_customer' AS rule),
  STRUCT(4 AS k, 'new_customer_smb' AS rule),
  STRUCT(5 AS k, 'no_logins' AS rule),
  STRUCT(6 AS k, 'onboarding_escalation' AS rule),
  STRUCT(7 AS k, 'onboarding_stalled' AS rule),
  STRUCT(8 AS k, 'outgrowing_plan' AS rule),
  STRUCT(9 AS k, 'promoter' AS rule),
  STRUCT(10 AS k, 'qbr_due' AS rule),
  STRUCT(11 AS k, 'renewal_120' AS rule),
  STRUCT(12 AS k, 'renewal_at_risk' AS rule),
  STRUCT(13 AS k, 'renewal_overdue' AS rule),
  STRUCT(14 AS k, 'seat_underuse' AS rule),
  STRUCT(15 AS k, 'seats_near_limit' AS rule),
  STRUCT(16 AS k, 'support_escalations' AS rule),
  STRUCT(17 AS k, 'usage_drop' AS rule),
  STRUCT(18 AS k, 'usage_drop_smb' AS rule),
  STRUCT(19 AS k, 'usage_growth' AS rule)
]) AS r;
