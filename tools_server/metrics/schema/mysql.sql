-- OpsWatchdog metrics store, MySQL/MariaDB: the reference schema. Created on demand, never altered.
-- Datetimes are naive local time of the collectors (the store's timezone setting). Usages are percent.

CREATE TABLE IF NOT EXISTS `howso_server_performance_metrics` (
    `id`                 VARCHAR(20)  NOT NULL COMMENT '主键ID',
    `ip`                 VARCHAR(50)  NOT NULL COMMENT '服务器IP',
    `collect_time`       DATETIME     NOT NULL COMMENT '采集时间',
    `cpu_usage`          DECIMAL(5,2) DEFAULT NULL COMMENT 'CPU使用率(%)',
    `cpu_status`         VARCHAR(20)  DEFAULT NULL COMMENT 'CPU状态 正常/异常/丢失',
    `memory_usage`       DECIMAL(5,2) DEFAULT NULL COMMENT '内存使用率(%)',
    `memory_status`      VARCHAR(20)  DEFAULT NULL COMMENT '内存状态',
    `disk_usage`         DECIMAL(5,2) DEFAULT NULL COMMENT '磁盘使用率(%)',
    `disk_status`        VARCHAR(20)  DEFAULT NULL COMMENT '磁盘状态',
    `network_status`     VARCHAR(20)  DEFAULT NULL COMMENT '网络状态',
    `packet_loss_status` VARCHAR(20)  DEFAULT NULL COMMENT '丢包状态',
    `user_load_status`   VARCHAR(20)  DEFAULT NULL COMMENT '用户负载状态',
    `bk_cloud_id`        INT          DEFAULT NULL COMMENT '云区域ID',
    `insert_time`        DATETIME     NOT NULL COMMENT '插入时间',
    PRIMARY KEY (`id`),
    KEY `idx_ip_collect_time` (`ip`, `collect_time`),
    KEY `idx_collect_time` (`collect_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='服务器性能监控指标表';

CREATE TABLE IF NOT EXISTS `plat_service_monitoring` (
    `id`             VARCHAR(32)  NOT NULL COMMENT '主键ID',
    `batch_id`       VARCHAR(32)  DEFAULT NULL COMMENT '批次ID',
    `platform`       VARCHAR(100) DEFAULT NULL COMMENT '平台',
    `server_name`    VARCHAR(100) DEFAULT NULL COMMENT '服务器名称',
    `server_ip`      VARCHAR(50)  NOT NULL COMMENT '服务器IP',
    `service_name`   VARCHAR(100) NOT NULL COMMENT '服务名称',
    `service_id`     VARCHAR(200) DEFAULT NULL COMMENT '进程/程序名',
    `port`           INT          DEFAULT NULL COMMENT '端口',
    `status`         VARCHAR(20)  DEFAULT NULL COMMENT '端口状态 正常/异常',
    `process_status` VARCHAR(20)  DEFAULT NULL COMMENT '进程状态 运行中/未运行',
    `response_time`  VARCHAR(20)  DEFAULT NULL COMMENT '响应时间',
    `start_cmd`      VARCHAR(500) DEFAULT NULL COMMENT '启动命令',
    `stop_cmd`       VARCHAR(500) DEFAULT NULL COMMENT '停止命令',
    `insert_time`    DATETIME     NOT NULL COMMENT '检测时间',
    `local_ip`       VARCHAR(200) DEFAULT NULL COMMENT '检测机IP',
    `hostname`       VARCHAR(100) DEFAULT NULL COMMENT '检测机主机名',
    `os_type`        VARCHAR(20)  DEFAULT NULL COMMENT '检测机系统',
    PRIMARY KEY (`id`),
    KEY `idx_insert_time` (`insert_time`),
    KEY `idx_server_ip_insert_time` (`server_ip`, `insert_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='平台服务监控表';

CREATE TABLE IF NOT EXISTS `power_monitoring_avg_data` (
    `id`                        VARCHAR(32)   NOT NULL COMMENT '主键ID',
    `room`                      VARCHAR(100)  DEFAULT NULL COMMENT '机房',
    `battery_capacity`          DECIMAL(5,2)  DEFAULT NULL COMMENT 'UPS电池容量(%)',
    `battery_status`            VARCHAR(20)   DEFAULT NULL COMMENT '电池状态',
    `ups_supply_time`           DECIMAL(8,2)  DEFAULT NULL COMMENT 'UPS供电时间(分钟)',
    `avg_input_voltage`         DECIMAL(8,2)  DEFAULT NULL COMMENT '平均输入电压(V)',
    `avg_input_voltage_status`  VARCHAR(20)   DEFAULT NULL COMMENT '输入电压状态',
    `avg_output_voltage`        DECIMAL(8,2)  DEFAULT NULL COMMENT '平均输出电压(V)',
    `avg_output_voltage_status` VARCHAR(20)   DEFAULT NULL COMMENT '输出电压状态',
    `avg_input_current`         DECIMAL(8,2)  DEFAULT NULL COMMENT '平均输入电流(A)',
    `avg_input_current_status`  VARCHAR(20)   DEFAULT NULL COMMENT '输入电流状态',
    `avg_output_current`        DECIMAL(8,2)  DEFAULT NULL COMMENT '平均输出电流(A)',
    `avg_output_current_status` VARCHAR(20)   DEFAULT NULL COMMENT '输出电流状态',
    `avg_temperature`           DECIMAL(5,2)  DEFAULT NULL COMMENT '平均温度(°C)',
    `avg_temperature_status`    VARCHAR(20)   DEFAULT NULL COMMENT '温度状态',
    `avg_humidity`              DECIMAL(5,2)  DEFAULT NULL COMMENT '平均湿度(%)',
    `avg_humidity_status`       VARCHAR(20)   DEFAULT NULL COMMENT '湿度状态',
    `inspection_time`           DATETIME      NOT NULL COMMENT '检测时间',
    PRIMARY KEY (`id`),
    KEY `idx_inspection_time` (`inspection_time`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='动环电力监控均值表';

CREATE TABLE IF NOT EXISTS `nas_pools_detail` (
    `id`                   VARCHAR(32)   NOT NULL COMMENT '主键ID',
    `server_name`          VARCHAR(100)  DEFAULT NULL COMMENT 'NAS名称',
    `pool_name`            VARCHAR(100)  NOT NULL COMMENT '存储池',
    `used_space`           DECIMAL(12,2) DEFAULT NULL COMMENT '已用空间',
    `used_space_unit`      VARCHAR(10)   DEFAULT NULL COMMENT '已用空间单位',
    `available_space`      DECIMAL(12,2) DEFAULT NULL COMMENT '可用空间',
    `available_space_unit` VARCHAR(10)   DEFAULT NULL COMMENT '可用空间单位',
    `usage_percentage`     DECIMAL(5,2)  DEFAULT NULL COMMENT '使用率(%)',
    `status`               VARCHAR(20)   DEFAULT NULL COMMENT '状态',
    `inspection_date`      DATE          NOT NULL COMMENT '检测日期',
    `inspection_time`      TIME          DEFAULT NULL COMMENT '检测时间',
    PRIMARY KEY (`id`),
    KEY `idx_inspection_date` (`inspection_date`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='NAS存储池明细表';

CREATE TABLE IF NOT EXISTS `operation_analysis_summary` (
    `id`                   VARCHAR(32)  NOT NULL COMMENT '主键ID',
    `report_date`          DATE         NOT NULL COMMENT '报告日期',
    `report_type`          VARCHAR(20)  NOT NULL COMMENT 'daily/weekly',
    `operation_daily`      TEXT         COMMENT '运维日报',
    `exception_analysis`   TEXT         COMMENT '异常分析',
    `exception_data`       LONGTEXT     COMMENT '异常数据(JSON)',
    `risk_prediction`      TEXT         COMMENT '风险预测',
    `operation_suggestion` TEXT         COMMENT '运维建议',
    `key_focus`            TEXT         COMMENT '重点关注',
    `moderate_focus`       TEXT         COMMENT '中度关注',
    `created_at`           DATETIME     NOT NULL COMMENT '创建时间',
    PRIMARY KEY (`id`),
    KEY `idx_report_date_type` (`report_date`, `report_type`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COMMENT='运维分析汇总表';
